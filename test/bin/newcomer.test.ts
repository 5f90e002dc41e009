// What a new user hits first, with the real `phasesr` executable and real sockets on 127.0.0.1: usage errors
// exit 2 in every command; a missing input, a folder given as input, `--host ADDR:PORT` and a taken port are
// reported clearly before any model loads (a model path that does not exist proves it: its error would come
// first otherwise); upload errors name the user's file; RGB-to-grey conversion is reported by batch and by
// /api/v1/sr; the Python example names its one dependency when it is missing.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';

import sharp from 'sharp';

import { phasesr } from '../helpers/cli';
import { ROOT, tempDir } from '../helpers/shared';
import { startServer, type TestServer } from '../server/helpers';

const dir = tempDir('phasesr-newcomer-test-');
const NO_MODEL = path.join(dir, 'no-such-model');
let srv: TestServer;
let rgb: string;

before(async () => {
  rgb = path.join(dir, 'colour.png');
  const px = Buffer.alloc(24 * 20 * 3);
  for (let i = 0; i < 24 * 20; i++) px.set([(i * 7) % 256, (i * 3) % 256, 40], i * 3);
  await sharp(px, { raw: { width: 24, height: 20, channels: 3 } })
    .png()
    .toFile(rgb);
  srv = await startServer();
});

after(async () => {
  await srv?.server.close();
});

test('a bad option or argument exits 2 in every command; --help exits 0', async () => {
  for (const cmd of ['sr', 'serve', 'batch', 'info', 'sample', 'export', 'train', 'eval', 'fiji-install', 'start', 'init', 'average']) {
    const r = await phasesr([cmd, '--no-such-option']);
    assert.equal(r.code, 2, `${cmd}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, /^error: (unknown option '--no-such-option'|required option)/m, cmd);
  }
  assert.equal((await phasesr(['serve', '--port', 'eighty'])).code, 2);
  assert.equal((await phasesr(['sr', 'only-one-argument'])).code, 2);
  assert.equal((await phasesr(['serve', '--help'])).code, 0);
});

test('a missing input or a folder is a usage error named before any model loads', async () => {
  const missing = await phasesr(['sr', path.join(dir, 'nope.tif'), path.join(dir, 'out.tif'), '--model', NO_MODEL]);
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /no such input file: .*nope\.tif \[SR_ERR_USAGE\]/);
  assert.doesNotMatch(missing.stderr, /model/);

  const served = await phasesr(['serve', path.join(dir, 'nope.tif'), '--model', NO_MODEL, '--port', '0']);
  assert.equal(served.code, 2, served.stderr);
  assert.match(served.stderr, /no such input file/);
  assert.doesNotMatch(served.stderr, /model/);

  const exported = await phasesr([
    'export',
    '--bioimageio',
    path.join(dir, 'pkg.zip'),
    '--image',
    path.join(dir, 'nope.tif'),
    '--model',
    NO_MODEL,
  ]);
  assert.equal(exported.code, 2, exported.stderr);
  assert.match(exported.stderr, /no such input file: .*nope\.tif/);
  assert.doesNotMatch(exported.stderr, /model/);

  const folder = path.join(dir, 'images');
  mkdirSync(folder, { recursive: true });
  const batch = await phasesr(['batch', folder, '--out', path.join(dir, 'sr')]);
  assert.equal(batch.code, 2, batch.stderr);
  assert.match(
    batch.stderr,
    new RegExp(`${folder} is a folder: pass the image files in it, e\\.g\\. phasesr batch ${folder}/\\*\\.tif --out`),
  );
  const sr = await phasesr(['sr', folder, path.join(dir, 'out.tif'), '--model', NO_MODEL]);
  assert.equal(sr.code, 2, sr.stderr);
  assert.match(sr.stderr, /is a folder: .*phasesr batch/);
});

test('--host with a port is refused, saying how to give both', async () => {
  const r = await phasesr(['serve', '--host', '0.0.0.0:80', '--model', NO_MODEL]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--host 0\.0\.0\.0 --port 80/);
  assert.equal((await phasesr(['serve', '--host', 'not a host!', '--model', NO_MODEL])).code, 2);
});

test('a port in use: SR_ERR_PORT_IN_USE naming --port, before the model loads (serve and start)', async () => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
  const port = (taken.address() as net.AddressInfo).port;
  try {
    const r = await phasesr(['serve', '--port', String(port), '--model', NO_MODEL]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use .*--port N.* \\[SR_ERR_PORT_IN_USE\\]`));
    assert.doesNotMatch(r.stderr, /SR_ERR_MODEL/);
    const s = await phasesr(['start', '--port', String(port)]);
    assert.equal(s.code, 1, s.stderr);
    assert.match(s.stderr, /\[SR_ERR_PORT_IN_USE\]/);
    assert.doesNotMatch(s.stdout, /engine|sample/, 'reported before the info and the sample');
  } finally {
    taken.close();
  }
});

test("an upload that is not an image: the error names the user's file, not a temp path", async () => {
  const res = await fetch(`${srv.url}/api/v1/images?name=cells.tif`, { method: 'POST', body: 'not an image at all' });
  const body = (await res.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'SR_ERR_IMAGE_DECODE');
  assert.match(body.error.message, /cells\.tif/);
  assert.ok(!body.error.message.includes(srv.server.store.uploadDir), body.error.message);
});

test('RGB converted to grey is reported: /api/v1/sr warnings, and phasesr batch prints it', async () => {
  const r = (await (await fetch(`${srv.url}/api/v1/sr?path=${encodeURIComponent(rgb)}&scale=2`)).json()) as {
    dtype: string;
    warnings: string[];
  };
  assert.equal(r.dtype, 'uint8');
  assert.match(r.warnings.join('\n'), /colour image converted to grey \(luma 0\.299 R/);
  const b = await phasesr([
    'batch',
    rgb,
    '--out',
    path.join(dir, 'batch-out'),
    '--scale',
    '2',
    '--server',
    srv.url.replace('http:', 'ws:'),
    '-q',
  ]);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stderr, /colour\.png: warning: colour image converted to grey/);
});

test('the Python example names its one dependency and how to install it when it is missing', async () => {
  // -S: no site-packages, so the installed websockets cannot be imported, as on a machine without it.
  const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile('python3', ['-S', path.join(ROOT, 'docs', 'examples', 'batch.py'), 'a.tif', 'b.tif'], (err, _out, stderr) =>
      resolve({ code: err ? Number(err.code) : 0, stderr }),
    ),
  );
  assert.equal(r.code, 2);
  assert.match(r.stderr, /needs the Python package websockets: apt-get install python3-websockets .* or pip install websockets/);
});
