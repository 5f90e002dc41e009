// The OME-Zarr view read by a real zarr client (Debian python3-zarr over fsspec/aiohttp HTTP): its .zattrs
// validate against the OME-NGFF 0.4 schemas (ajv), a region at native and at 8x equals the WebSocket raw
// tiles byte for byte, chunks come from the same queue and cache (no second inference), and the view
// follows the server's security rules, with CORS only for --cors-origin origins.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { request } from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import { Ajv2020 } from 'ajv/dist/2020.js';

import { writeImage } from '../../models';
import { PhasesrServer } from '../../server';
import type { ImageInfo, ServerMessage } from '../../server/protocol';
import { ROOT, SHARED, tempDir } from '../helpers/shared';
import { startServer, testImage, TestClient, u16, type TestServer } from './helpers';

type Opened = Extract<ServerMessage, { type: 'image-opened' }>;
/** Debian's interpreter, where python3-zarr installs (a pyenv `python3` earlier on PATH would not see it). */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const W = 300,
  H = 200,
  TILE = 256;
const ORIGIN = 'http://viewer.example:5173';
let srv: TestServer;
let c: TestClient;
let info: ImageInfo;
let store: string;
let nextId = 1;

before(async () => {
  const file = path.join(tempDir('phasesr-zarr-'), 'cells.tif');
  const { pixels } = await testImage(W, H, 4);
  await writeImage(file, { width: W, height: H, dtype: 'uint16', data: pixels }, { pixelSize: { x: 0.87, y: 0.87, unit: 'µm' } });
  srv = await startServer({ corsOrigins: [ORIGIN] });
  c = await TestClient.connect(srv.wsUrl);
  c.send({ type: 'open-image', id: 1, path: file });
  info = (await c.waitFor<Opened>((m) => m.type === 'image-opened' && m.id === 1)).image;
  store = `${srv.url}/zarr/${info.imageId}.zarr`;
});

after(async () => {
  c.close();
  await srv.server.close();
});

/** The region [y0, y1) x [x0, x1) of a deep-zoom level assembled from WebSocket raw u16 tiles. */
async function wsRegion(level: number, y0: number, y1: number, x0: number, x1: number): Promise<Uint16Array> {
  const out = new Uint16Array((y1 - y0) * (x1 - x0));
  for (let ty = Math.floor(y0 / TILE); ty <= Math.floor((y1 - 1) / TILE); ty++) {
    for (let tx = Math.floor(x0 / TILE); tx <= Math.floor((x1 - 1) / TILE); tx++) {
      const id = ++nextId;
      c.send({ type: 'tiles', requests: [{ id, imageId: info.imageId, level, x: tx, y: ty, encoding: 'u16' }] });
      const f = await c.frame(id);
      const v = u16(f.payload);
      const tw = f.header.width;
      for (let y = Math.max(y0, ty * TILE); y < Math.min(y1, ty * TILE + f.header.height); y++) {
        for (let x = Math.max(x0, tx * TILE); x < Math.min(x1, tx * TILE + tw); x++) {
          out[(y - y0) * (x1 - x0) + (x - x0)] = v[(y - ty * TILE) * tw + (x - tx * TILE)]!;
        }
      }
    }
  }
  return out;
}

test('.zattrs is OME-NGFF 0.4 multiscales (image and strict_image schemas, ajv): 8x first, µm scales', async () => {
  const res = await fetch(`${store}/.zattrs`);
  assert.equal(res.status, 200);
  const attrs = (await res.json()) as {
    multiscales: { axes: object[]; datasets: { path: string; coordinateTransformations: { scale: number[] }[] }[] }[];
  };
  const dir = path.join(SHARED, 'specs', 'ome-ngff-0.4');
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema(JSON.parse(readFileSync(path.join(dir, 'image.schema'), 'utf8')));
  const strict = ajv.compile(JSON.parse(readFileSync(path.join(dir, 'strict_image.schema'), 'utf8')));
  const image = ajv.getSchema('https://ngff.openmicroscopy.org/0.4/schemas/image.schema')!;
  assert.ok(image(attrs), JSON.stringify(image.errors));
  assert.ok(strict(attrs), JSON.stringify(strict.errors));
  assert.equal(image({ multiscales: [{ datasets: [], axes: [] }] }), false, 'the schema refuses an empty multiscales');
  const ms = attrs.multiscales[0]!;
  assert.deepEqual(ms.axes, [
    { name: 'y', type: 'space', unit: 'micrometer' },
    { name: 'x', type: 'space', unit: 'micrometer' },
  ]);
  const scales = ms.datasets.map((d) => d.coordinateTransformations[0]!.scale[0]!);
  // 8x, 4x, 2x, native (0.87 µm), then down to the first level that fits one chunk (300 -> 150).
  assert.deepEqual(
    scales.map((s) => +(0.87 / s).toFixed(6)),
    [8, 4, 2, 1, 0.5],
  );
  assert.deepEqual(
    ms.datasets.map((d) => d.path),
    ['0', '1', '2', '3', '4'],
  );
  const z = await (await fetch(`${store}/0/.zarray`)).json();
  assert.deepEqual(z, {
    zarr_format: 2,
    shape: [H * 8, W * 8],
    chunks: [TILE, TILE],
    dtype: '<u2',
    compressor: null,
    fill_value: 0,
    order: 'C',
    filters: null,
    dimension_separator: '/',
  });
});

test('python3-zarr over HTTP reads native and 8x regions byte-identical to the WebSocket raw tiles, from the same cache', async () => {
  const N = info.nativeLevel;
  // 8x: the image's bottom-right corner (edge chunks are padded; the region stays inside the image).
  const r8 = [H * 8 - 100, H * 8, W * 8 - 300, W * 8] as const;
  const rn = [20, 180, 200, 300] as const;
  const ws8 = await wsRegion(N + 3, ...r8);
  const wsn = await wsRegion(N, ...rn);
  const before8 = { ...srv.server.stats };
  const out = await mkdtemp(path.join(tempDir('phasesr-zarr-'), 'read-'));
  const { stdout } = await promisify(execFile)(
    PYTHON,
    [path.join(ROOT, 'test/server/zarr-read.py'), store, out, `0:${r8.join(':')}`, `3:${rn.join(':')}`],
    { timeout: 120_000 },
  );
  const r = JSON.parse(stdout) as {
    version: string;
    datasets: { path: string; dtype: string; shape: number[]; chunks: number[] }[];
    regions: Record<string, { dtype: string; shape: number[] }>;
  };
  assert.equal(r.version, '0.4');
  assert.deepEqual(
    r.datasets.map((d) => d.shape),
    [
      [1600, 2400],
      [800, 1200],
      [400, 600],
      [200, 300],
      [100, 150],
    ],
  );
  assert.deepEqual(r.regions['0'], { dtype: '<u2', shape: [100, 300] });
  const z8 = await readFile(path.join(out, '0.raw'));
  const zn = await readFile(path.join(out, '3.raw'));
  assert.ok(z8.equals(Buffer.from(ws8.buffer)), '8x region differs from the WebSocket tiles');
  assert.ok(zn.equals(Buffer.from(wsn.buffer)), 'native region differs from the WebSocket tiles');
  assert.ok(new Set(ws8).size > 100, 'the 8x region has content');
  // The zarr chunks were the WebSocket's tiles, from the shared cache: no engine call, no new tile computed.
  assert.equal(srv.server.stats.engineCalls, before8.engineCalls);
  assert.equal(srv.server.stats.tilesComputed, before8.tilesComputed);
  assert.ok(srv.server.stats.cacheHits > before8.cacheHits);
});

test('a chunk the WebSocket has not asked for is computed on demand through the queue (one engine call)', async () => {
  const before = srv.server.stats.engineCalls;
  const res = await fetch(`${store}/1/0/0`); // 4x, top-left: one 64-pixel LR block
  assert.equal(res.status, 200);
  assert.equal((await res.arrayBuffer()).byteLength, TILE * TILE * 2);
  assert.equal(srv.server.stats.engineCalls, before + 1);
  const again = await fetch(`${store}/1/0/0`);
  assert.equal((await again.arrayBuffer()).byteLength, TILE * TILE * 2);
  assert.equal(srv.server.stats.engineCalls, before + 1, 'a repeat is a cache hit');
});

test('keys the store lacks are 404 (what zarr clients read as absent); unknown image too', async () => {
  for (const key of ['0/.zattrs', '9/.zarray', '0/99/0', '0/0/x', '.zarray', 'nope']) {
    const res = await fetch(`${store}/${key}`);
    assert.equal(res.status, 404, key);
    assert.equal(
      ((await res.json()) as { error: { code: string } }).error.code,
      key === '0/99/0' ? 'SR_ERR_TILE_OUT_OF_RANGE' : 'SR_ERR_NOT_FOUND',
      key,
    );
  }
  assert.equal((await fetch(`${srv.url}/zarr/0123456789abcdef.zarr/.zattrs`)).status, 404);
});

test('CORS: only --cors-origin origins may read from their pages (preflight included); others get no CORS headers', async () => {
  const ok = await fetch(`${store}/.zattrs`, { headers: { Origin: ORIGIN } });
  assert.equal(ok.headers.get('access-control-allow-origin'), ORIGIN);
  const pre = await fetch(`${store}/0/0/0`, {
    method: 'OPTIONS',
    headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' },
  });
  assert.equal(pre.status, 204);
  assert.match(pre.headers.get('access-control-allow-headers') ?? '', /Authorization/);
  const pna = await fetch(`${store}/.zattrs`, {
    method: 'OPTIONS',
    headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Private-Network': 'true' },
  });
  assert.equal(pna.headers.get('access-control-allow-private-network'), 'true');
  const otherPre = await fetch(`${store}/.zattrs`, {
    method: 'OPTIONS',
    headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Private-Network': 'true' },
  });
  assert.equal(otherPre.headers.get('access-control-allow-origin'), null);
  assert.equal(otherPre.headers.get('access-control-allow-private-network'), null);
  const other = await fetch(`${store}/.zattrs`, { headers: { Origin: 'http://evil.example' } });
  assert.equal(other.headers.get('access-control-allow-origin'), null);
  const api = await fetch(`${srv.url}/api/v1/images`, { headers: { Origin: ORIGIN } });
  assert.equal(api.headers.get('access-control-allow-origin'), null, 'only the zarr view is shared');
  await assert.rejects(PhasesrServer.create({ corsOrigins: ['*'] }), { code: 'SR_ERR_USAGE' });
  await assert.rejects(PhasesrServer.create({ corsOrigins: ['https://x.org/path'] }), { code: 'SR_ERR_USAGE' });
});

test('the server security rules hold: foreign Host refused, token required when set', async () => {
  const status = await new Promise<number>((resolve, reject) => {
    request(`${store}/.zattrs`, { headers: { Host: 'evil.example' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
  assert.equal(status, 403);
  const s = await startServer({ token: 'sesame', images: [] });
  try {
    const img = await s.server.store.openFile((await testImage(64, 48, 9)).file, { pinned: true });
    const url = `${s.url}/zarr/${img.id}.zarr/.zattrs`;
    const no = await fetch(url);
    assert.equal(no.status, 401);
    assert.equal(((await no.json()) as { error: { code: string } }).error.code, 'SR_ERR_UNAUTHORIZED');
    assert.equal((await fetch(url, { headers: { Authorization: 'Bearer sesame' } })).status, 200);
  } finally {
    await s.server.close();
  }
});

test('a float32 image is a <f4 store whose chunks are the f32 raw tiles, padded at the edge; no pixel size: unitless axes', async () => {
  const w = 40,
    h = 30;
  const f = Float32Array.from({ length: w * h }, (_, i) => Math.sin(i) * 1e-3 - 2.5);
  const tif = path.join(tempDir('phasesr-zarr-'), 'float.tif');
  await writeImage(tif, { width: w, height: h, dtype: 'float32', data: f });
  const img = await srv.server.store.openFile(tif, { pinned: true });
  const base = `${srv.url}/zarr/${img.id}.zarr`;
  const attrs = (await (await fetch(`${base}/.zattrs`)).json()) as { multiscales: { axes: object[]; datasets: { path: string }[] }[] };
  assert.deepEqual(attrs.multiscales[0]!.axes, [
    { name: 'y', type: 'space' },
    { name: 'x', type: 'space' },
  ]);
  const native = String(attrs.multiscales[0]!.datasets.length - 1); // the native level already fits one chunk
  const z = (await (await fetch(`${base}/${native}/.zarray`)).json()) as { dtype: string; shape: number[] };
  assert.deepEqual([z.dtype, z.shape], ['<f4', [h, w]]);
  const chunk = new Float32Array(await (await fetch(`${base}/${native}/0/0`)).arrayBuffer());
  assert.equal(chunk.length, TILE * TILE);
  const tile = new Float32Array(
    await (await fetch(`${srv.url}/api/v1/images/${img.id}/sr_files/${img.pyramid.nativeLevel}/0_0.f32`)).arrayBuffer(),
  );
  for (let y = 0; y < h; y++) assert.deepEqual(chunk.subarray(y * TILE, y * TILE + w), tile.subarray(y * w, (y + 1) * w));
  assert.deepEqual(chunk.subarray(0, w), f.subarray(0, w), 'native chunk = the file values');
  assert.ok(chunk.subarray(w, TILE).every((v) => v === 0) && chunk.subarray(h * TILE).every((v) => v === 0), 'padding is the fill value 0');
});
