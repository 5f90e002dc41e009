// The HTTP one-shot endpoint the Fiji bridge uses, over a real socket on 127.0.0.1: GET ?path= of a file
// inside the allowed folders (the exchange folder by default, --allow-dir adds more; the test folders are allowed), JSON or plain text, POST with the
// file as the body; the result downloads as a TIFF at the returned URL; paths outside are 403 with a stable
// code; results expire within the store's bounds.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ImageSource, runSr, writeImage } from '../../models';
import { ResultStore } from '../../server/batch/result-store';
import { synthImage } from '../helpers/image';
import { outsideTempDir, tempDir } from '../helpers/shared';
import { startServer, tinyModelDir, type TestServer } from './helpers';

const dir = tempDir('phasesr-api-sr-test-');
/** Not allowed by default: outside the OS temp folder. */
const outside = outsideTempDir('api-sr-test-');
let srv: TestServer;
let input: string;

async function image16(file: string, w: number, h: number, seed: number): Promise<string> {
  await writeImage(
    file,
    { width: w, height: h, dtype: 'uint16', data: Uint16Array.from(synthImage(w, h, seed), (v) => Math.round(v)) },
    { pixelSize: { x: 0.5, y: 0.5, unit: 'µm' } },
  );
  return file;
}

async function pixelsOf(file: string): Promise<{ w: number; h: number; dtype: string; pixelSize: number | undefined; data: Float32Array }> {
  const src = await ImageSource.open(file);
  try {
    return {
      w: src.width,
      h: src.height,
      dtype: src.dtype,
      pixelSize: src.pixelSize?.x,
      data: await src.readRegion(0, 0, src.width, src.height),
    };
  } finally {
    await src.close();
  }
}

before(async () => {
  input = await image16(path.join(dir, 'fiji-export.tif'), 48, 40, 4);
  srv = await startServer();
});

after(async () => {
  await srv.server.close();
});

test('GET /api/v1/sr?path= inside the temp folder: JSON with a .tif URL; the download equals runSr of the file', async () => {
  const res = await fetch(`${srv.url}/api/v1/sr?path=${encodeURIComponent(input)}&scale=8&model=tiny`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as {
    url: string;
    absoluteUrl: string;
    width: number;
    height: number;
    dtype: string;
    pixelSize: { x: number; unit: string };
    scale: number;
    bytes: number;
  };
  assert.match(body.url, /^\/api\/v1\/results\/[0-9a-f]{32}\.tif$/);
  assert.equal(body.absoluteUrl, `${srv.url}${body.url}`);
  assert.deepEqual([body.width, body.height, body.dtype, body.scale], [384, 320, 'uint16', 8]);
  assert.ok(Math.abs(body.pixelSize.x - 0.5 / 8) < 1e-9 && body.pixelSize.unit === 'µm');

  const dl = await fetch(`${srv.url}${body.url}`);
  assert.equal(dl.status, 200);
  assert.equal(dl.headers.get('content-type'), 'image/tiff');
  const bytes = new Uint8Array(await dl.arrayBuffer());
  assert.equal(bytes.byteLength, body.bytes);
  const got = path.join(dir, 'downloaded.tif');
  writeFileSync(got, bytes);
  const ref = path.join(dir, 'ref.tif');
  await runSr({ input, output: ref, scale: 8, model: await tinyModelDir(), threads: 1, log: () => {} });
  const a = await pixelsOf(got);
  const b = await pixelsOf(ref);
  assert.deepEqual([a.w, a.h, a.dtype], [b.w, b.h, 'uint16']);
  assert.ok(a.pixelSize !== undefined && Math.abs(a.pixelSize - 0.5 / 8) < 1e-6);
  assert.deepEqual(a.data, b.data);
});

test('format=text answers the absolute URL alone, which downloads; errors are one `error: CODE: message` line', async () => {
  const res = await fetch(`${srv.url}/api/v1/sr?path=${encodeURIComponent(input)}&scale=2&format=text`);
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/results\/[0-9a-f]{32}\.tif\n$/);
  const dl = await fetch(text.trim());
  assert.equal(dl.status, 200);
  const f = path.join(dir, 'text.tif');
  writeFileSync(f, new Uint8Array(await dl.arrayBuffer()));
  const p = await pixelsOf(f);
  assert.deepEqual([p.w, p.h], [96, 80]);

  const bad = await fetch(`${srv.url}/api/v1/sr?path=${encodeURIComponent('/etc/hostname')}&format=text`);
  assert.equal(bad.status, 200, 'ImageJ macros read the body only on 200');
  assert.match(await bad.text(), /^error: SR_ERR_PATH_FORBIDDEN: .+\n$/);
});

test('paths outside the allowed folders are 403 SR_ERR_PATH_FORBIDDEN (also through ..); --allow-dir allows them', async () => {
  const file = await image16(path.join(outside, 'private.tif'), 24, 20, 1);
  for (const p of [file, '/etc/passwd', `${path.dirname(input)}/../../etc/passwd`, 'relative.tif']) {
    const res = await fetch(`${srv.url}/api/v1/sr?path=${encodeURIComponent(p)}`);
    assert.equal(res.status, 403, p);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'SR_ERR_PATH_FORBIDDEN', p);
  }
  const missing = await fetch(`${srv.url}/api/v1/sr?path=${encodeURIComponent(path.join(dir, 'nope.tif'))}`);
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'SR_ERR_NOT_FOUND');

  const wider = await startServer({ allowDirs: [outside] });
  try {
    const res = await fetch(`${wider.url}/api/v1/sr?path=${encodeURIComponent(file)}&scale=4`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { width: number; height: number };
    assert.deepEqual([body.width, body.height], [96, 80]);
  } finally {
    await wider.server.close();
  }
});

test('bad parameters are 400 SR_ERR_USAGE; a cross-site browser request is refused', async () => {
  for (const q of [
    '',
    `path=${encodeURIComponent(input)}&scale=3`,
    `path=${encodeURIComponent(input)}&pixelSize=-1`,
    `path=${encodeURIComponent(input)}&format=xml`,
  ]) {
    const res = await fetch(`${srv.url}/api/v1/sr?${q}`);
    assert.equal(res.status, 400, q);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'SR_ERR_USAGE', q);
  }
  const res = await fetch(`${srv.url}/api/v1/sr?path=${encodeURIComponent(input)}`, { headers: { 'Sec-Fetch-Site': 'cross-site' } });
  assert.equal(res.status, 403);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'SR_ERR_ORIGIN');
});

test('POST /api/v1/sr with the file as the body: same answer; a corrupt body is 422 SR_ERR_IMAGE_DECODE', async () => {
  const res = await fetch(`${srv.url}/api/v1/sr?name=posted.tif&scale=4`, { method: 'POST', body: readFileSync(input) });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { url: string; width: number; height: number; dtype: string; pixelSize: { x: number } };
  assert.deepEqual([body.width, body.height, body.dtype], [192, 160, 'uint16']);
  assert.ok(Math.abs(body.pixelSize.x - 0.5 / 4) < 1e-9);
  const dl = await fetch(`${srv.url}${body.url}`);
  assert.match(dl.headers.get('content-disposition') ?? '', /posted-x4\.tif/);

  const bad = await fetch(`${srv.url}/api/v1/sr?name=junk.tif`, { method: 'POST', body: 'definitely not an image'.repeat(20) });
  assert.equal(bad.status, 422);
  const err = ((await bad.json()) as { error: { code: string; message: string } }).error;
  assert.equal(err.code, 'SR_ERR_IMAGE_DECODE');
  assert.match(err.message, /junk\.tif/);
  assert.ok(!err.message.includes(srv.server.store.uploadDir), 'no server temp path in the message');
  const again = await fetch(`${srv.url}/health`);
  assert.equal(again.status, 200, 'the server is still up');
});

test('a body over maxUploadBytes is 413 SR_ERR_TOO_LARGE; unknown results are 404', async () => {
  const small = await startServer({ maxUploadBytes: 1000 });
  try {
    const res = await fetch(`${small.url}/api/v1/sr?name=big.tif`, { method: 'POST', body: readFileSync(input) });
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'SR_ERR_TOO_LARGE');
  } finally {
    await small.server.close();
  }
  for (const u of [
    '/api/v1/results/0123456789abcdef0123456789abcdef.tif',
    '/api/v1/results/..%2F..%2Fetc%2Fpasswd',
    '/api/v1/results/x.tif',
  ]) {
    const r = await fetch(`${srv.url}${u}`);
    assert.equal(r.status, 404, u);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'SR_ERR_NOT_FOUND', u);
  }
});

test('results expire: the store keeps the newest within its count, bytes and age limits and deletes the rest', async () => {
  const d = path.join(dir, 'store');
  const store = new ResultStore(d, { maxCount: 2, maxBytes: 250, ttlMs: 60_000 });
  const put = async (n: number, bytes: number) => {
    const f = path.join(dir, `r${n}.tif`);
    writeFileSync(f, new Uint8Array(bytes));
    return store.add(f, `r${n}.tif`);
  };
  const a = await put(1, 100);
  const b = await put(2, 100);
  const c = await put(3, 100);
  assert.equal(await store.get(a.id), undefined, 'count limit: the oldest is gone');
  assert.ok(!existsSync(a.path), 'and its file deleted');
  assert.ok((await store.get(b.id)) && (await store.get(c.id)));
  const big = await put(4, 200);
  assert.equal(await store.get(b.id), undefined, 'bytes limit');
  assert.equal(await store.get(c.id), undefined, 'bytes limit');
  assert.ok(await store.get(big.id), 'the newest is kept');
  const old = new ResultStore(path.join(dir, 'store2'), { maxCount: 10, maxBytes: 1e9, ttlMs: 0 });
  const f = path.join(dir, 'old.tif');
  writeFileSync(f, new Uint8Array(10));
  const r = await old.add(f, 'old.tif');
  await new Promise((res) => setTimeout(res, 5));
  assert.equal(await old.get(r.id), undefined, 'age limit');
  assert.ok(!existsSync(r.path));
});
