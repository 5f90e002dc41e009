// The WebSocket batch API over a real socket on 127.0.0.1: a 16-bit TIFF with an ImageJ pixel size goes in,
// its 8x TIFF comes back (uint16, pixel size / 8, the same pixels as `runSr` of the same file); a corrupt
// upload gets a coded error and the server keeps serving; cancel and disconnect stop a job and remove its
// temp files; limits are enforced while the upload streams.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ImageSource, runSr, writeImage } from '../../models';
import { PhasesrClient, type PhasesrClientError, type BatchProgress } from '../../server/client/phasesr-client';
import { encodeChunk, type ServerMessage } from '../../server/protocol';
import { synthImage } from '../helpers/image';
import { tempDir } from '../helpers/shared';
import { until } from '../helpers/until';
import { startServer, TestClient, tinyModelDir, type TestServer } from './helpers';

const dir = tempDir('phasesr-batch-test-');
const PIXEL_UM = 0.65;
let srv: TestServer;

async function image16(name: string, w: number, h: number, seed: number): Promise<string> {
  const file = path.join(dir, name);
  await writeImage(
    file,
    { width: w, height: h, dtype: 'uint16', data: Uint16Array.from(synthImage(w, h, seed), (v) => Math.round(v)) },
    { pixelSize: { x: PIXEL_UM, y: PIXEL_UM, unit: 'µm' } },
  );
  return file;
}

async function readAll(file: string): Promise<{ src: ImageSource; pixels: Float32Array }> {
  const src = await ImageSource.open(file);
  return { src, pixels: await src.readRegion(0, 0, src.width, src.height) };
}

/** Files the server holds in its upload/work folder (results of the HTTP endpoint live in results/). */
function workFiles(): string[] {
  return readdirSync(srv.server.store.uploadDir).filter((f) => f !== 'results');
}

before(async () => {
  srv = await startServer();
});

after(async () => {
  await srv.server.close();
});

test('batch round trip: 16-bit TIFF in, 8x uint16 TIFF out with pixel size / 8, pixels equal runSr of the same file', async () => {
  const input = await image16('cells.tif', 48, 40, 2);
  const out = path.join(dir, 'cells-x8.tif');
  const client = await PhasesrClient.connect(srv.wsUrl);
  const progress: BatchProgress[] = [];
  const r = await client.batch(input, { scale: 8, output: out, onProgress: (p) => progress.push(p) });
  await client.close();

  assert.equal(r.result.name, 'cells-x8.tif');
  assert.deepEqual([r.result.width, r.result.height, r.result.dtype], [384, 320, 'uint16']);
  assert.ok(r.result.pixelSize && Math.abs(r.result.pixelSize.x - PIXEL_UM / 8) < 1e-9, JSON.stringify(r.result.pixelSize));
  assert.equal(createHash('sha256').update(readFileSync(out)).digest('hex'), r.sha256, 'the file written equals what the server hashed');
  assert.deepEqual([...new Set(progress.map((p) => p.stage))], ['upload', 'open', 'inference', 'result']);
  assert.ok(progress.some((p) => p.stage === 'inference' && p.done === p.total && p.total >= 1));

  const ref = path.join(dir, 'cells-ref.tif');
  await runSr({ input, output: ref, scale: 8, model: await tinyModelDir(), threads: 1, log: () => {} });
  const got = await readAll(out);
  const want = await readAll(ref);
  try {
    assert.equal(got.src.dtype, 'uint16');
    assert.ok(
      got.src.pixelSize && Math.abs(got.src.pixelSize.x - PIXEL_UM / 8) < 1e-6,
      `file pixel size ${JSON.stringify(got.src.pixelSize)}`,
    );
    assert.deepEqual([got.src.width, got.src.height], [want.src.width, want.src.height]);
    assert.deepEqual(got.pixels, want.pixels);
    assert.ok(new Set(got.pixels).size > 100, 'a real image, not a constant');
  } finally {
    await got.src.close();
    await want.src.close();
  }
  assert.deepEqual(workFiles(), [], 'upload and output temp files are removed after the job');
});

test('a corrupt upload gets SR_ERR_IMAGE_DECODE (once) and the server still serves another client', async () => {
  const c = await TestClient.connect(srv.wsUrl);
  const junk = new TextEncoder().encode('II*\0 this is not really a TIFF file '.repeat(40));
  c.send({ type: 'batch-begin', id: 7, name: 'broken.tif', bytes: junk.byteLength, scale: 8 });
  c.ws.send(encodeChunk('uploadChunk', 7, 0, junk.subarray(0, 600), false));
  c.ws.send(encodeChunk('uploadChunk', 7, 1, junk.subarray(600), true));
  c.send({ type: 'batch-end', id: 7 });
  const err = await c.errorFor(7);
  assert.equal(err.code, 'SR_ERR_IMAGE_DECODE');
  assert.match(err.message, /broken\.tif/, 'the message names the upload, not a server temp path');
  assert.doesNotMatch(err.message, new RegExp(srv.server.store.uploadDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  assert.ok(!c.messages.some((m) => m.type === 'batch-result'));

  const other = await PhasesrClient.connect(srv.wsUrl);
  const ok = await other.batch(await image16('after.tif', 24, 20, 5), { scale: 2 });
  assert.equal(ok.bytes?.byteLength, ok.result.bytes);
  assert.deepEqual([ok.result.width, ok.result.height], [48, 40]);
  await other.close();
  // The first connection is still usable too.
  c.send({ type: 'status' });
  await c.waitFor((m) => m.type === 'status');
  assert.equal(c.messages.filter((m) => m.type === 'error' && m.id === 7).length, 1, 'one error per failed job');
  c.close();
  await until(() => workFiles().length === 0, 'temp files removed');
});

test('upload limits: a declared size over maxUploadBytes and a stream longer than declared are refused', async () => {
  const small = await startServer({ maxUploadBytes: 1000 });
  try {
    const c = await TestClient.connect(small.wsUrl);
    c.send({ type: 'batch-begin', id: 1, name: 'big.tif', bytes: 5000, scale: 8 });
    assert.equal((await c.errorFor(1)).code, 'SR_ERR_TOO_LARGE');
    c.send({ type: 'batch-begin', id: 2, name: 'liar.tif', bytes: 100, scale: 8 });
    c.ws.send(encodeChunk('uploadChunk', 2, 0, new Uint8Array(80), false));
    c.ws.send(encodeChunk('uploadChunk', 2, 1, new Uint8Array(80), false));
    c.ws.send(encodeChunk('uploadChunk', 2, 2, new Uint8Array(80), true));
    c.send({ type: 'batch-end', id: 2 });
    assert.equal((await c.errorFor(2)).code, 'SR_ERR_UPLOAD');
    c.send({ type: 'status' });
    await c.waitFor((m) => m.type === 'status');
    assert.equal(c.messages.filter((m) => m.type === 'error').length, 2, `exactly one error each: ${JSON.stringify(c.messages)}`);
    c.close();
    await until(() => readdirSync(small.server.store.uploadDir).length === 0, 'partial uploads removed');
  } finally {
    await small.server.close();
  }
});

test('a model other than the served one is refused with SR_ERR_USAGE', async () => {
  const client = await PhasesrClient.connect(srv.wsUrl);
  await assert.rejects(
    client.batch(await image16('m.tif', 24, 20, 6), { scale: 8, model: 'paper' }),
    (e: PhasesrClientError) => e.code === 'SR_ERR_USAGE' && /tiny/.test(e.message),
  );
  await client.close();
});

test('cancel during the upload and during inference: `cancelled`, no result, temp files removed', async () => {
  const c = await TestClient.connect(srv.wsUrl);
  // During the upload: the first chunk is in, the second never comes.
  c.send({ type: 'batch-begin', id: 11, name: 'half.tif', bytes: 2000, scale: 8 });
  c.ws.send(encodeChunk('uploadChunk', 11, 0, new Uint8Array(1000), false));
  await c.waitFor((m) => m.type === 'progress' && m.id === 11 && m.stage === 'upload');
  assert.equal(workFiles().length, 1, 'the partial upload is on disk');
  c.send({ type: 'cancel', ids: [11] });
  const cancelled = await c.waitFor<Extract<ServerMessage, { type: 'cancelled' }>>((m) => m.type === 'cancelled' && m.ids.includes(11));
  assert.equal(cancelled.reason, 'client');
  await until(() => workFiles().length === 0, 'the partial upload removed');

  // During inference: 384x384 is 36 engine calls; cancel at the first inference progress.
  const file = await image16('long.tif', 384, 384, 8);
  const bytes = readFileSync(file);
  c.send({ type: 'batch-begin', id: 12, name: 'long.tif', bytes: bytes.byteLength, scale: 8 });
  c.ws.send(encodeChunk('uploadChunk', 12, 0, bytes, true));
  c.send({ type: 'batch-end', id: 12 });
  const first = await c.waitFor<BatchProgress>((m) => m.type === 'progress' && m.id === 12 && m.stage === 'inference');
  c.send({ type: 'cancel', ids: [12] });
  await c.waitFor((m) => m.type === 'cancelled' && m.ids.includes(12));
  await until(() => workFiles().length === 0, 'input and partial output removed');
  const inference = c.messages.filter((m): m is BatchProgress => m.type === 'progress' && m.id === 12 && m.stage === 'inference');
  assert.ok(
    inference.every((p) => p.done < p.total),
    'the job stopped before its last tile',
  );
  assert.equal(first.total, 36);
  assert.ok(!c.messages.some((m) => (m.type === 'batch-result' || m.type === 'batch-done' || m.type === 'error') && m.id === 12));
  assert.ok(!srv.logs.some((l) => l.includes('384x384 ->')), 'the job never completed');
  c.close();
});

test('disconnecting aborts a running job and removes its files; the server keeps serving', async () => {
  const file = await image16('gone.tif', 384, 384, 9);
  const bytes = readFileSync(file);
  const c = await TestClient.connect(srv.wsUrl);
  c.send({ type: 'batch-begin', id: 1, name: 'gone.tif', bytes: bytes.byteLength, scale: 8 });
  c.ws.send(encodeChunk('uploadChunk', 1, 0, bytes, true));
  c.send({ type: 'batch-end', id: 1 });
  await c.waitFor((m) => m.type === 'progress' && m.id === 1 && m.stage === 'inference');
  c.ws.terminate();
  await until(() => workFiles().length === 0, 'files of the aborted job removed');
  const client = await PhasesrClient.connect(srv.wsUrl);
  const r = await client.batch(await image16('next.tif', 24, 20, 10), { scale: 4 });
  assert.deepEqual([r.result.width, r.result.height], [96, 80]);
  await client.close();
  assert.ok(!srv.logs.some((l) => l.includes('384x384 ->')), 'the aborted job never completed');
});

test('the client reports a refused connection (nothing listening) as ECONNREFUSED', async () => {
  const port = srv.server.port;
  const probe = await startServer();
  const freePort = probe.server.port;
  await probe.server.close();
  assert.notEqual(freePort, port);
  await assert.rejects(PhasesrClient.connect(`ws://127.0.0.1:${freePort}`), (e: PhasesrClientError) => e.code === 'ECONNREFUSED');
});
