// `phasesr fiji-install FOLDER` as a user runs it: Fiji.app, plain ImageJ and ~/.imagej layouts get the macro
// (byte-identical, replaced on a second run); anything else is refused with exit 2 and a message that says
// what an ImageJ folder looks like, and nothing is written there.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { MACRO_SOURCE } from '../../fiji-bridge/install';
import { phasesr } from '../helpers/cli';
import { tempDir } from '../helpers/shared';

const dir = tempDir('phasesr-fiji-install-test-');

function layout(name: string, files: string[], dirs: string[]): string {
  const root = path.join(dir, name);
  for (const d of dirs) mkdirSync(path.join(root, d), { recursive: true });
  for (const f of files) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    writeFileSync(path.join(root, f), 'x');
  }
  return root;
}

const installed = (root: string) => path.join(root, 'plugins', 'PhaseSR', 'PhaseSR_Super_Resolve.ijm');

test('Fiji.app (jars/ij-*.jar), plain ImageJ (ij.jar) and a user ImageJ folder (macros/) get the macro in plugins/PhaseSR/', async () => {
  const cases = [
    layout('Fiji.app', ['jars/ij-1.54f.jar', 'ImageJ-linux64'], ['plugins', 'macros']),
    layout('ImageJ', ['ij.jar'], ['plugins']),
    layout('dot-imagej', [], ['plugins', 'macros', 'luts']),
  ];
  for (const root of cases) {
    const r = await phasesr(['fiji-install', root]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^installed ${installed(root).replace(/[.]/g, '\\.')}`));
    assert.match(r.stdout, /Plugins › PhaseSR › PhaseSR Super Resolve/);
    assert.match(r.stdout, /npx phasesr serve/);
    assert.deepEqual(readFileSync(installed(root)), readFileSync(MACRO_SOURCE));
  }
});

test('a second install replaces an older macro and says "updated"', async () => {
  const root = layout('Fiji-again.app', ['jars/ij-1.53t.jar'], ['plugins']);
  mkdirSync(path.dirname(installed(root)), { recursive: true });
  writeFileSync(installed(root), '// an old version');
  const r = await phasesr(['fiji-install', root]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^updated /);
  assert.deepEqual(readFileSync(installed(root)), readFileSync(MACRO_SOURCE));
});

test('a folder that is not ImageJ/Fiji, a missing folder and the plugins/ folder itself are refused (exit 2), nothing written', async () => {
  const plain = layout('documents', ['notes.txt'], ['plugins-not']);
  const r = await phasesr(['fiji-install', plain]);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /is not a Fiji or ImageJ folder: expected a plugins\/ folder beside ij\.jar, jars\/ij-\*\.jar, macros\/ or luts\/.*\[SR_ERR_USAGE\]/,
  );
  assert.ok(!existsSync(path.join(plain, 'plugins')));

  const missing = await phasesr(['fiji-install', path.join(dir, 'no-such-folder')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /is not a folder/);

  const fiji = layout('Fiji-plugins.app', ['jars/ij-1.54f.jar'], ['plugins']);
  const inner = await phasesr(['fiji-install', path.join(fiji, 'plugins')]);
  assert.equal(inner.code, 2);
  assert.match(inner.stderr, new RegExp(`did you mean ${fiji.replace(/[.]/g, '\\.')}\\?`));
  assert.ok(!existsSync(path.join(fiji, 'plugins', 'plugins')));
});
