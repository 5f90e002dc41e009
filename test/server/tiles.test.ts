// Tiles over a real socket: source levels hold the image's own pixels (native) and box averages (below),
// PNG tiles are the percentile display mapping, the bicubic layer equals the evaluation's centre-aligned
// bicubic of the whole image, REST serves the same bytes and an OpenSeadragon-readable descriptor, caches
// (memory and disk) answer repeats without inference.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';

import sharp from 'sharp';

import { CATMULL_ROM, sharpBicubic, upsample } from '../../models/eval/resample';
import type { ImageInfo, ServerMessage } from '../../server/protocol';
import { tempDir } from '../helpers/shared';
import { f32, startServer, testImage, TestClient, u16, type TestServer } from './helpers';

type Opened = Extract<ServerMessage, { type: 'image-opened' }>;
const W = 300,
  H = 200;
let srv: TestServer;
let c: TestClient;
let info: ImageInfo;
let pixels: Uint16Array;
let file: string;
let nextId = 1;

before(async () => {
  ({ file, pixels } = await testImage(W, H, 2));
  srv = await startServer();
  c = await TestClient.connect(srv.wsUrl);
  c.send({ type: 'open-image', id: 1, path: file });
  info = (await c.waitFor<Opened>((m) => m.type === 'image-opened' && m.id === 1)).image;
});

after(async () => {
  c.close();
  await srv.server.close();
});

async function tile(level: number, x: number, y: number, extra: object = {}) {
  const id = ++nextId;
  c.send({ type: 'tiles', requests: [{ id, imageId: info.imageId, level, x, y, ...extra }] });
  return c.frame(id);
}

test('the native level is the image itself (u16 tiles hold the file values exactly)', async () => {
  const N = info.nativeLevel;
  const f = await tile(N, 1, 0, { encoding: 'u16' });
  assert.deepEqual([f.header.width, f.header.height], [W - 256, H]); // the right edge tile is cut
  const v = u16(f.payload);
  for (let y = 0; y < H; y++) for (let x = 0; x < W - 256; x++) assert.equal(v[y * (W - 256) + x], pixels[y * W + 256 + x]);
});

test('a lower level is the 2x2 box average; PNG maps low..high percentiles to 0..255', async () => {
  const N = info.nativeLevel;
  const f = await tile(N - 1, 0, 0, { encoding: 'u16' });
  assert.deepEqual([f.header.width, f.header.height], [150, 100]);
  const v = u16(f.payload);
  for (const [x, y] of [
    [0, 0],
    [17, 33],
    [149, 99],
  ] as const) {
    const avg =
      (pixels[2 * y * W + 2 * x]! +
        pixels[2 * y * W + 2 * x + 1]! +
        pixels[(2 * y + 1) * W + 2 * x]! +
        pixels[(2 * y + 1) * W + 2 * x + 1]!) /
      4;
    assert.ok(Math.abs(v[y * 150 + x]! - avg) <= 0.5, `(${x},${y}): ${v[y * 150 + x]} vs ${avg}`);
  }
  // Far below native (factor 32), tiles are built from their children: still the block average inside.
  const low5 = u16((await tile(N - 5, 0, 0, { encoding: 'u16' })).payload);
  let sum = 0;
  for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) sum += pixels[y * W + x]!;
  assert.ok(Math.abs(low5[0]! - sum / 1024) <= 0.5, `level ${N - 5}: ${low5[0]} vs ${sum / 1024}`);
  const png = await tile(N, 0, 0);
  const meta = await sharp(Buffer.from(png.payload)).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height, meta.channels, meta.depth], ['png', 256, 200, 1, 'uchar']);
  const { data } = await sharp(Buffer.from(png.payload)).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  const { low, high } = info.percentiles;
  let maxd = 0;
  for (let y = 0; y < 200; y++)
    for (let x = 0; x < 256; x++) {
      const want = Math.min(255, Math.max(0, ((pixels[y * W + x]! - low) / (high - low)) * 255));
      maxd = Math.max(maxd, Math.abs(data[y * 256 + x]! - want));
    }
  assert.ok(maxd <= 0.5 + 1e-3, `display mapping off by ${maxd}`);
});

test("the bicubic layer equals the evaluation's centre-aligned bicubic of the whole image, edges included; the SR layer differs", async () => {
  for (const s of [2, 8] as const) {
    const level = info.nativeLevel + Math.log2(s);
    // The eval's bicubic: libvips Catmull-Rom for 16-bit images, and the same kernel in float for float32.
    const ref16 = await sharpBicubic(Float32Array.from(pixels), W, H, s, 'uint16');
    const refF = upsample(Float32Array.from(pixels), W, H, s, CATMULL_ROM, 'float32');
    const last = [Math.ceil((W * s) / 256) - 1, Math.ceil((H * s) / 256) - 1] as const;
    for (const [tx, ty] of [[0, 0], [1, 1], last] as const) {
      const fu = await tile(level, tx, ty, { layer: 'bicubic', encoding: 'u16' });
      const ff = await tile(level, tx, ty, { layer: 'bicubic', encoding: 'f32' });
      const [tw, th] = [fu.header.width, fu.header.height];
      const vu = u16(fu.payload),
        vf = f32(ff.payload);
      let d16 = 0,
        dF = 0;
      for (let y = 0; y < th; y++)
        for (let x = 0; x < tw; x++) {
          const at = (ty * 256 + y) * W * s + tx * 256 + x;
          d16 = Math.max(d16, Math.abs(vu[y * tw + x]! - ref16[at]!));
          dF = Math.max(dF, Math.abs(vf[y * tw + x]! - refF[at]!));
        }
      assert.ok(d16 <= 1, `${s}x bicubic tile ${tx},${ty} vs the eval's 16-bit bicubic: max diff ${d16}`);
      assert.ok(dF <= 0.05, `${s}x bicubic tile ${tx},${ty} vs the eval's float bicubic: max diff ${dF}`);
      if (s !== 2) continue;
      const sr = u16((await tile(level, tx, ty, { encoding: 'u16' })).payload);
      assert.equal(sr.length, vu.length);
      assert.ok(
        sr.some((v, i) => Math.abs(v - vu[i]!) > 2),
        'SR and bicubic tiles are different images',
      );
    }
  }
});

test('bad tile addresses get coded errors naming the request', async () => {
  const id = ++nextId;
  c.send({
    type: 'tiles',
    requests: [
      { id, imageId: info.imageId, level: info.maxLevel, x: 10, y: 0 },
      { id: id + 1, imageId: 'ffffffffffffffff', level: 0, x: 0, y: 0 },
    ],
  });
  assert.equal((await c.errorFor(id)).code, 'SR_ERR_TILE_OUT_OF_RANGE');
  assert.equal((await c.errorFor(id + 1)).code, 'SR_ERR_NOT_FOUND');
  nextId++;
});

test('REST: image list, descriptor, DZI XML, tiles equal to the WebSocket bytes, the image list page', async () => {
  const list = (await (await fetch(`${srv.url}/api/v1/images`)).json()) as ImageInfo[];
  assert.deepEqual(
    list.map((i) => i.imageId),
    [info.imageId],
  );
  const d = (await (await fetch(`${srv.url}${info.descriptorUrl}`)).json()) as Record<string, unknown>;
  assert.deepEqual([d.width, d.height, d.tileSize, d.overlap, d.maxLevel, d.nativeLevel], [2400, 1600, 256, 0, 12, 9]);
  const xml = await (await fetch(`${srv.url}${info.dziUrl}`)).text();
  assert.match(xml, /TileSize="256"[^>]*>\s*<Size Width="2400" Height="1600"\/>/);
  const level = info.nativeLevel + 2;
  const http = await fetch(`${srv.url}/api/v1/images/${info.imageId}/sr_files/${level}/1_2.png`);
  assert.equal(http.status, 200);
  assert.equal(http.headers.get('content-type'), 'image/png');
  const ws = await tile(level, 1, 2);
  assert.deepEqual(new Uint8Array(await http.arrayBuffer()), new Uint8Array(ws.payload));
  const missing = await fetch(`${srv.url}/api/v1/images/${info.imageId}/sr_files/${level}/9_9.png`);
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'SR_ERR_TILE_OUT_OF_RANGE');
  const page = await (await fetch(`${srv.url}/list`)).text();
  assert.ok(page.includes(info.imageId));
});

test('repeats come from the cache; a disk cache survives a restart', async () => {
  const level = info.nativeLevel + 3;
  const before1 = { ...srv.server.stats };
  await tile(level, 3, 2);
  const calls = srv.server.stats.engineCalls;
  const again = await tile(level, 3, 2);
  assert.equal(srv.server.stats.engineCalls, calls);
  assert.ok(srv.server.stats.cacheHits > before1.cacheHits);

  const cacheDir = path.join(tempDir(), 'tiles');
  const a = await startServer({ cacheDir, images: [file] });
  // Image ids are per server (an HMAC of the content hash): each server names the same file its own way.
  const b1 = new Uint8Array(
    await (await fetch(`${a.url}/api/v1/images/${a.server.store.list()[0]!.id}/sr_files/${level}/3_2.png`)).arrayBuffer(),
  );
  assert.equal(a.server.stats.engineCalls, 1);
  await a.server.close();
  const b = await startServer({ cacheDir, images: [file] });
  const b2 = await fetch(`${b.url}/api/v1/images/${b.server.store.list()[0]!.id}/sr_files/${level}/3_2.png`);
  assert.equal(b.server.stats.engineCalls, 0, 'served from the disk cache');
  const bytes = new Uint8Array(await b2.arrayBuffer());
  assert.deepEqual(bytes, b1);
  assert.deepEqual(bytes, new Uint8Array(again.payload));
  await b.server.close();
});

test('8-bit PNG and float32 TIFF images serve their own values (u16 / f32 native tiles)', async () => {
  const dir = tempDir();
  const w = 40,
    h = 30;
  const u8 = Uint8Array.from({ length: w * h }, (_, i) => (i * 37) % 256);
  const png = path.join(dir, 'grey8.png');
  await sharp(u8, { raw: { width: w, height: h, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toFile(png);
  const up = await fetch(`${srv.url}/api/v1/images?name=grey8.png`, { method: 'POST', body: await sharp(png).toBuffer() });
  assert.equal(up.status, 201);
  const i8 = (await up.json()) as ImageInfo;
  assert.deepEqual([i8.dtype, i8.format, i8.width, i8.height], ['uint8', 'png', w, h]);
  const t8 = u16(
    new Uint8Array(await (await fetch(`${srv.url}/api/v1/images/${i8.imageId}/sr_files/${i8.nativeLevel}/0_0.u16`)).arrayBuffer()),
  );
  assert.deepEqual([...t8], [...u8]);

  const { writeImage } = await import('../../models');
  const f = Float32Array.from({ length: w * h }, (_, i) => Math.sin(i) * 1e-3 - 2.5);
  const tif = path.join(dir, 'float.tif');
  await writeImage(tif, { width: w, height: h, dtype: 'float32', data: f });
  c.send({ type: 'open-image', id: 900, path: tif });
  const ifl = (await c.waitFor<Opened>((m) => m.type === 'image-opened' && m.id === 900)).image;
  assert.equal(ifl.dtype, 'float32');
  const tf = await tile(ifl.nativeLevel, 0, 0, { encoding: 'f32', imageId: ifl.imageId });
  const got = new Float32Array(new Uint8Array(tf.payload).buffer);
  let d = 0;
  for (let i = 0; i < f.length; i++) d = Math.max(d, Math.abs(got[i]! - f[i]!));
  assert.ok(d <= 1e-6, `float32 native tile off by ${d}`);
  const sr = await tile(ifl.nativeLevel + 2, 0, 0, { encoding: 'png', imageId: ifl.imageId });
  assert.deepEqual([sr.header.width, sr.header.height], [4 * w, 4 * h]);
});
