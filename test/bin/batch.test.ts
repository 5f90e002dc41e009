// `phasesr batch` as a user runs it (a child process) against a real server on 127.0.0.1: outputs appear
// complete, a second run skips them and exits 0, a corrupt input fails alone (exit 1 with a summary), no
// server gives exit 3 with how to start one, bad usage exits 2.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ImageSource, writeImage } from '../../models';
import { phasesr } from '../helpers/cli';
import { synthImage } from '../helpers/image';
import { tempDir } from '../helpers/shared';
import { startServer, type TestServer } from '../server/helpers';

const dir = tempDir('phasesr-batch-cli-');
let srv: TestServer;
let a: string;
let b: string;

async function image16(name: string, w: number, h: number, seed: number): Promise<string> {
  const file = path.join(dir, name);
  await writeImage(
    file,
    { width: w, height: h, dtype: 'uint16', data: Uint16Array.from(synthImage(w, h, seed), (v) => Math.round(v)) },
    { pixelSize: { x: 0.8, y: 0.8, unit: 'µm' } },
  );
  return file;
}

before(async () => {
  srv = await startServer();
  a = await image16('a.tif', 48, 40, 1);
  b = await image16('b.tif', 32, 24, 2);
});

after(async () => {
  await srv.server.close();
});

test('batch writes every output, then a second run skips them all and exits 0', async () => {
  const out = path.join(dir, 'out');
  const r = await phasesr(['batch', a, b, '--out', out, '--server', srv.wsUrl, '--scale', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /2 done, 0 skipped \(already done\), 0 failed/);
  assert.deepEqual(readdirSync(out).sort(), ['a-x2.tif', 'b-x2.tif'], 'no .partial files left');
  const src = await ImageSource.open(path.join(out, 'a-x2.tif'));
  assert.deepEqual([src.width, src.height, src.dtype], [96, 80, 'uint16']);
  assert.ok(src.pixelSize && Math.abs(src.pixelSize.x - 0.4) < 1e-6);
  await src.close();
  const mtimes = readdirSync(out).map((f) => statSync(path.join(out, f)).mtimeMs);

  const again = await phasesr(['batch', a, b, '--out', out, '--server', srv.wsUrl, '--scale', '2']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /all 2 outputs already exist/);
  assert.deepEqual(
    readdirSync(out).map((f) => statSync(path.join(out, f)).mtimeMs),
    mtimes,
    'nothing rewritten',
  );

  // A lost output (and a stale .partial from an interrupted run) is redone; the other is skipped.
  unlinkSync(path.join(out, 'b-x2.tif'));
  writeFileSync(path.join(out, 'b-x2.tif.partial'), 'half');
  const third = await phasesr(['batch', a, b, '--out', out, '--server', srv.wsUrl, '--scale', '2']);
  assert.equal(third.code, 0, third.stderr);
  assert.match(third.stderr, /1 done, 1 skipped \(already done\), 0 failed/);
  assert.deepEqual(readdirSync(out).sort(), ['a-x2.tif', 'b-x2.tif']);
});

test('a corrupt input fails alone: exit 1, a summary naming it with its code, the others done', async () => {
  const bad = path.join(dir, 'broken.tif');
  writeFileSync(bad, 'II*\0 not a tiff at all '.repeat(10));
  const out = path.join(dir, 'out-bad');
  const r = await phasesr(['batch', bad, a, '--out', out, '--server', srv.wsUrl, '--scale', '4']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /1 done, 0 skipped \(already done\), 1 failed/);
  assert.match(r.stderr, /broken\.tif: .*\[SR_ERR_IMAGE_DECODE\]/);
  assert.deepEqual(readdirSync(out), ['a-x4.tif'], 'no output (and no .partial) for the corrupt file');
});

test('no server listening: exit 3 and how to start one', async () => {
  const probe = await startServer();
  const port = probe.server.port;
  await probe.server.close();
  const out = path.join(dir, 'out-none');
  const r = await phasesr(['batch', a, '--out', out, '--server', `ws://127.0.0.1:${port}`]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, new RegExp(`cannot reach the phasesr server at ws://127\\.0\\.0\\.1:${port}`));
  assert.match(r.stderr, new RegExp(`npx phasesr serve --port ${port}`));
  assert.ok(!existsSync(path.join(out, 'a-x8.tif')));
});

test('usage errors exit 2: no --out, two inputs with the same output name, a missing input; --help exits 0', async () => {
  const help = await phasesr(['batch', '--help']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: phasesr batch/);
  assert.match(help.stdout, /npx phasesr serve/);
  const none = await phasesr(['batch', a, '--server', srv.wsUrl]);
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, /--out/);
  const twin = path.join(dir, 'twin');
  mkdirSync(twin, { recursive: true });
  const a2 = path.join(twin, 'a.tif');
  writeFileSync(a2, 'x');
  const clash = await phasesr(['batch', a, a2, '--out', path.join(dir, 'o'), '--server', srv.wsUrl]);
  assert.equal(clash.code, 2, clash.stderr);
  assert.match(clash.stderr, /would both be written to/);
  const missing = await phasesr(['batch', path.join(dir, 'nope.tif'), '--out', path.join(dir, 'o'), '--server', srv.wsUrl]);
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /no such input file/);
});
