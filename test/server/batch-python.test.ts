// The Python example of docs/scripting.md (docs/examples/batch.py, `websockets` package) against a real
// server on 127.0.0.1: its output is byte-identical to the TypeScript client's for the same file, a corrupt
// file exits 1 with the server's code, no server exits 3. CI installs python3-websockets (.ci/run); the
// test fails, never skips, when Python or the package is missing.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { writeImage } from '../../models';
import { PhasesrClient } from '../../server/client/phasesr-client';
import { synthImage } from '../helpers/image';
import { ROOT, tempDir } from '../helpers/shared';
import { startServer, type TestServer } from './helpers';

const dir = tempDir('phasesr-batch-py-');
const SCRIPT = path.join(ROOT, 'docs', 'examples', 'batch.py');
/** Debian's interpreter, where python3-websockets installs (a pyenv `python3` earlier on PATH would not see it). */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
let srv: TestServer;

function python(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(PYTHON, [SCRIPT, ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

before(async () => {
  srv = await startServer();
});

after(async () => {
  await srv.server.close();
});

test('the Python websockets example is installed and byte-identical to the TypeScript client', async () => {
  const input = path.join(dir, 'cells.tif');
  await writeImage(
    input,
    { width: 48, height: 40, dtype: 'uint16', data: Uint16Array.from(synthImage(48, 40, 3), (v) => Math.round(v)) },
    { pixelSize: { x: 0.65, y: 0.65, unit: 'µm' } },
  );
  const out = path.join(dir, 'cells-x8-py.tif');
  const r = await python([input, out, '--scale', '8', '--server', srv.wsUrl]);
  assert.equal(r.code, 0, `python example failed (is python3-websockets installed?): ${r.stderr}`);
  assert.match(r.stdout, /384x320 uint16/);
  assert.match(r.stderr, /inference: \d+\/\d+/);
  assert.ok(!existsSync(`${out}.partial`));

  const client = await PhasesrClient.connect(srv.wsUrl);
  const ts = await client.batch(input, { scale: 8 });
  await client.close();
  assert.deepEqual(new Uint8Array(readFileSync(out)), ts.bytes);
});

test('the Python example reports a refused job (exit 1, code) and a missing server (exit 3)', async () => {
  const bad = path.join(dir, 'bad.tif');
  writeFileSync(bad, 'not an image '.repeat(30));
  const r = await python([bad, path.join(dir, 'bad-x8.tif'), '--server', srv.wsUrl]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /\[SR_ERR_IMAGE_DECODE\]/);
  assert.ok(!existsSync(path.join(dir, 'bad-x8.tif')) && !existsSync(path.join(dir, 'bad-x8.tif.partial')));

  const probe = await startServer();
  const port = probe.server.port;
  await probe.server.close();
  const none = await python([bad, path.join(dir, 'x.tif'), '--server', `ws://127.0.0.1:${port}/ws`]);
  assert.equal(none.code, 3, none.stderr);
  assert.match(none.stderr, /npx phasesr serve/);
});
