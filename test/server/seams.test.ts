// Stitched SR tiles equal whole-image inference (max abs diff <= 1e-5 in normalised units, before encoding):
// a 300x200 image is 5x4 LR blocks of 64 (the default) whose windows overlap and shift inwards at the edges;
// every 2x, 4x and 8x tile comes over the socket as raw float32 (a 2x tile is stitched from the pieces of 2x2
// blocks), and each block is inferred exactly once for all three levels. Block sizes 32 (a 4x tile spans 2x2
// blocks) and 128 (one block holds a whole 2x tile) must give the same pixels, and so must the default mix
// of 64 blocks and the 32 first blocks of cold views (counted per size, so a block computed twice fails).
// The int8 engine (the default on a calibrated model) is held to the same at every block size. Servers run
// with the default spatial merging (adjacent queued blocks as one window); one test compares it with it off.
import assert from 'node:assert/strict';
import { cp } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
  createEngine,
  haloFor,
  type Rect,
  imagePercentiles,
  ImageSource,
  planTiles,
  resolveModel,
  superResolve,
  type SuperResBackend,
} from '../../models';
import { calibrate } from '../../models/engine/int8-calibration';
import { cascadeHalo, clippedWindow } from '../../models/tiling';
import { saveCalibration } from '../../models/engine/int8-calibration-file';
import type { ImageInfo, ServerMessage } from '../../server/protocol';
import { memoryReader } from '../helpers/image';
import { f32, startServer, testImage, TestClient, TINY_CONFIG, tinyModelDir, type TestServer } from './helpers';

const W = 300,
  H = 200;
let srv: TestServer;
let client: TestClient;
let info: ImageInfo;
let pixels: Uint16Array;
let file: string;
let engine: SuperResBackend;
/** The float32 whole-image reference, shared by every float32 server below. */
let fp32Whole: ReturnType<typeof wholeImage>;

before(async () => {
  ({ file, pixels } = await testImage(W, H, 3));
  srv = await startServer();
  client = await TestClient.connect(srv.wsUrl);
  info = await openImage(client);
  const m = await resolveModel(await tinyModelDir());
  engine = await createEngine(m.config, m.weights, { threads: 1, log: () => {} });
  fp32Whole = wholeImage(engine);
});

after(async () => {
  client.close();
  await engine.dispose();
  await srv.server.close();
});

test('the image uses whole-image percentiles and the documented level numbering', async () => {
  const src = await ImageSource.open(file);
  const p = await imagePercentiles(src, [0.1, 99.9]);
  await src.close();
  assert.equal(info.percentiles.low, p.low);
  assert.equal(info.percentiles.high, p.high);
  assert.equal(info.nativeLevel, 9); // ceil(log2(300))
  assert.equal(info.maxLevel, 12);
  assert.deepEqual(
    info.levels.slice(10).map((l) => [l.width, l.height, l.columns, l.rows]),
    [
      [600, 400, 3, 2],
      [1200, 800, 5, 4],
      [2400, 1600, 10, 7],
    ],
  );
});

test('stitched 2x, 4x and 8x float tiles equal whole-image inference; one inference per block', async () => {
  await checkSeams(client, info);
  // 5x4 blocks, each inferred once: the 4x and 8x tiles came from the 2x request's inferences.
  assert.equal(srv.server.stats.blocksInferred, 20);
});

for (const [blockSize, blocks] of [
  [32, 10 * 7],
  [128, 3 * 2],
] as const) {
  test(`block size ${blockSize}: the same stitched tiles, ${blocks} blocks`, async () => {
    const other = await startServer({ blockSize });
    const c = await TestClient.connect(other.wsUrl);
    try {
      const i = await openImage(c);
      await checkSeams(c, i);
      assert.equal(other.server.stats.blocksInferred, blocks);
    } finally {
      c.close();
      await other.server.close();
    }
  });
}

test('a cold viewport on the default server: the first tile comes first, from one small block; the rest is ONE merged window', async () => {
  // Default options: blocks of 64, first blocks of 32, merging. The 300x200 image has 5x4 blocks of 64; an 8x
  // tile is a 32 block, a quarter of a 64 one. The viewport is 8x6 tiles at 8x = 4x3 blocks of 64.
  const other = await startServer();
  const c = await TestClient.connect(other.wsUrl);
  try {
    const i = await openImage(c);
    const stats = other.server.stats;
    // The first request, tile (3,2) in block (1,1), finds the engine idle: it runs alone as one 32 block, ahead of
    // the newer requests. Every other tile, the other three of block (1,1) included, waits for its 64 block;
    // all twelve are queued by the time the small block ends, so they run as one 4x3 window.
    await coldView(c, i, 6);
    const counts = () => [stats.engineCalls, stats.mergedCalls, stats.blocksInferred, stats.firstBlocksInferred];
    assert.deepEqual(
      counts(),
      [2, 1, 13, 1],
      '[engine calls, merged, blocks, of them 32]: one 32 block, then 12 blocks of 64 as one window',
    );
    // 1 whole tile from the 32 block and 5 from each 64 block (4 at 8x, 1 at 4x), less the first tile's second copy,
    // which the cache does not take: the first copy stays (what was sent is what the cache serves).
    assert.equal(stats.tilesComputed, 1 + 12 * 5 - 1);
    const h = (await (await fetch(`${other.url}/health`)).json()) as { stats: { engineCalls: number; mergedCalls: number } };
    assert.deepEqual([h.stats.engineCalls, h.stats.mergedCalls], [2, 1], '/health counts the same');
    // The engine idle again, a lone tile is a cold view again: the bottom-right region (4,3) is 44x8 LR pixels,
    // two 32 blocks (windows shifted inwards at both edges); its tile (9,6) needs one.
    c.send({ type: 'tiles', requests: [tile8(i, 100_000, 9, 6)] });
    await c.frame(100_000, 600_000);
    assert.deepEqual(counts().slice(2), [14, 2]);
    // The first tiles' 32 blocks and every 64 block stitch exactly (the kept first copies are among the 8x tiles).
    await checkSeams(c, i);
    assert.deepEqual(counts().slice(2), [2 + 20, 2], 'each 64 block once, plus the two 32 blocks');
  } finally {
    c.close();
    await other.server.close();
  }
});

test("a cold 8x view whose bottom tile row is half its blocks: the window covers the view's tiles, not whole 64 blocks", async () => {
  // The bench's 1920x1080 view at 8x is 8x5 tiles = 256x160 LR, but 4x3 blocks of 64 cover 256x192. Here the
  // same on the 300x200 image: tiles (0..7, 0..4). Row 4's blocks of 64 hold row 5 too, outside the view, so
  // those tiles come from blocks of their own size (32), and the one merged window stops at the view's edge.
  const other = await startServer();
  const c = await TestClient.connect(other.wsUrl);
  try {
    const i = await openImage(c);
    await coldView(c, i, 5);
    const stats = other.server.stats;
    assert.deepEqual(
      [stats.engineCalls, stats.mergedCalls, stats.blocksInferred, stats.firstBlocksInferred],
      [2, 1, 1 + 8 + 8, 1],
      '[engine calls, merged, blocks, first]: the first tile, then 4x2 blocks of 64 and a row of 8 blocks of 32 as one window',
    );
    // The work, in LR window pixels: the first tile's window, then the bounding box of the merged blocks' windows.
    const halo = haloFor(TINY_CONFIG);
    const win = (size: number, bx: number, by: number) => planTiles(W, H, size, halo)[by * Math.ceil(W / size) + bx]!.window;
    // Written out here rather than imported, so the count does not lean on the server's own helper.
    const bounds = (rs: Rect[]): Rect => {
      const x = Math.min(...rs.map((r) => r.x));
      const y = Math.min(...rs.map((r) => r.y));
      return { x, y, w: Math.max(...rs.map((r) => r.x + r.w)) - x, h: Math.max(...rs.map((r) => r.y + r.h)) - y };
    };
    const box = (rs: Rect[]) => bounds(rs).w * bounds(rs).h;
    const first = win(32, 3, 2);
    const serving = (rows: number) => Array.from({ length: 4 * rows }, (_, k) => win(64, k % 4, Math.floor(k / 4)));
    const edge = Array.from({ length: 8 }, (_, x) => win(32, x, 4));
    const merged = box([...serving(2), ...edge]);
    const whole = box(serving(3)); // the 4x3 blocks of 64 as one window (what ran before)
    assert.equal(stats.windowPixels, first.w * first.h + merged);
    assert.ok(merged < whole, `merged window ${merged} px, 4x3 blocks ${whole} px`);
    // The x2 cascade ran on each call's cores (their bounding box) plus its margin, within the window, not on the halo.
    const core = (size: number, bx: number, by: number) => planTiles(W, H, size, halo)[by * Math.ceil(W / size) + bx]!.core;
    const cores = [
      ...Array.from({ length: 8 }, (_, k) => core(64, k % 4, Math.floor(k / 4))),
      ...Array.from({ length: 8 }, (_, x) => core(32, x, 4)),
    ];
    const within = (c: Rect, w: Rect) => {
      const r = clippedWindow(c, cascadeHalo(TINY_CONFIG), W, H);
      return (Math.min(r.x + r.w, w.x + w.w) - Math.max(r.x, w.x)) * (Math.min(r.y + r.h, w.y + w.h) - Math.max(r.y, w.y));
    };
    assert.equal(stats.cascadePixels, within(core(32, 3, 2), first) + within(bounds(cores), bounds([...serving(2), ...edge])));
    assert.ok(stats.cascadePixels < stats.windowPixels, `cascade ${stats.cascadePixels} px of ${stats.windowPixels} window px`);
    const h = (await (await fetch(`${other.url}/health`)).json()) as { stats: { windowPixels: number; cascadePixels: number } };
    assert.equal(h.stats.windowPixels, stats.windowPixels, '/health counts the same');
    assert.equal(h.stats.cascadePixels, stats.cascadePixels, '/health counts the same cascade');
    // 1 tile from the first block, 5 from each 64 block (4 at 8x, 1 at 4x) less the first tile's second copy, 1 from
    // each 32 block of row 4 (their 4x and 2x shares are pieces).
    assert.equal(stats.tilesComputed, 1 + 8 * 5 - 1 + 8);
    // The 32 blocks' tiles stay what the cache serves beside every 64 block computed later: all stitch exactly.
    await checkSeams(c, i);
    assert.deepEqual([stats.blocksInferred, stats.firstBlocksInferred], [17 + 12, 1], 'the other 12 blocks of 64 once each');
  } finally {
    c.close();
    await other.server.close();
  }
});

test('merged blocks (the default --merge-blocks 12): stitched tiles equal whole-image inference, fewer engine calls than blocks', async (t) => {
  // Every 2x tile spans 2x2 blocks of 64, so the first request queues blocks faster than the engine takes
  // them: each later engine call takes its block's queued neighbours as one window. Off (1), one call a block.
  for (const mergeBlocks of [undefined, 1]) {
    const other = await startServer(mergeBlocks ? { mergeBlocks } : {});
    const c = await TestClient.connect(other.wsUrl);
    try {
      const i = await openImage(c);
      await checkSeams(c, i);
      const s = other.server.stats;
      assert.deepEqual([s.blocksInferred, s.firstBlocksInferred], [20, 0], 'each of the 5x4 blocks once, all at 64');
      if (mergeBlocks === 1) assert.deepEqual([s.engineCalls, s.mergedCalls], [20, 0], 'off: one engine call per block');
      else
        assert.ok(s.mergedCalls > 0 && s.engineCalls < 20, `merged: ${s.engineCalls} engine calls (${s.mergedCalls} merged) for 20 blocks`);
      t.diagnostic(`merge ${mergeBlocks ?? 'default'}: ${s.engineCalls} engine calls, ${s.mergedCalls} merged, for 20 blocks`);
      const h = (await (await fetch(`${other.url}/health`)).json()) as { stats: { mergedCalls: number } };
      assert.equal(h.stats.mergedCalls, s.mergedCalls, '/health reports merged calls');
    } finally {
      c.close();
      await other.server.close();
    }
  }
});

test('--first-block 0 (fixed blocks): the first tile of a cold view is a whole 64 block', async () => {
  const other = await startServer({ firstBlockSize: 0 });
  const c = await TestClient.connect(other.wsUrl);
  try {
    const i = await openImage(c);
    c.send({
      type: 'tiles',
      requests: [{ id: 10, imageId: i.imageId, level: i.nativeLevel + 3, x: 3, y: 2, encoding: 'f32', priority: 'visible' }],
    });
    await c.frame(10, 600_000);
    assert.deepEqual([other.server.stats.blocksInferred, other.server.stats.firstBlocksInferred], [1, 0]);
  } finally {
    c.close();
    await other.server.close();
  }
});

test('ort-int8 (a calibrated copy of the tiny model): tiled equals whole int8 at block sizes 64 (with first blocks of 32), 32 and 128', async () => {
  // The default engine on a calibrated model is int8; its static scales make every block match the whole
  // image, whatever the block size. The int8 whole-image reference is computed once per level and shared.
  const m = await resolveModel(await tinyModelDir());
  const dir = path.join(path.dirname(m.dir), 'tiny-int8');
  await cp(m.dir, dir, { recursive: true });
  await saveCalibration(dir, await calibrate(m.config, m.weights, m.sha256, [file], { threads: 1, log: () => {} }));
  const cal = (await resolveModel(dir)).int8;
  assert.ok(cal && !(cal instanceof Error), 'the copy is calibrated');
  const int8 = await createEngine(m.config, m.weights, { engine: 'ort-int8', int8: cal, threads: 1, log: () => {} });
  const whole = wholeImage(int8);
  try {
    // [block size, blocks inferred, of which first blocks]: at 64 a cold 8x tile first runs as one 32 block,
    // then all 20 blocks of 64 (the first tile's region among them).
    for (const [blockSize, blocks, firstBlocks] of [
      [64, 21, 1],
      [32, 70, 0],
      [128, 6, 0],
    ] as const) {
      const other = await startServer({ model: dir, blockSize });
      const c = await TestClient.connect(other.wsUrl);
      try {
        assert.equal(other.server.engine.engine, 'ort-int8', 'the default engine on a calibrated model');
        const i = await openImage(c);
        if (blockSize === 64) {
          c.send({ type: 'tiles', requests: [{ id: 10, imageId: i.imageId, level: i.nativeLevel + 3, x: 3, y: 2, encoding: 'f32' }] });
          await c.frame(10, 600_000);
          assert.equal(other.server.stats.firstBlocksInferred, 1, 'the cold tile came from a 32 block');
        }
        await checkSeams(c, i, whole);
        assert.deepEqual([other.server.stats.blocksInferred, other.server.stats.firstBlocksInferred], [blocks, firstBlocks]);
        assert.ok(other.server.stats.mergedCalls > 0, 'int8 blocks ran merged too (the default --merge-blocks)');
      } finally {
        c.close();
        await other.server.close();
      }
    }
  } finally {
    await int8.dispose();
  }
});

async function openImage(c: TestClient): Promise<ImageInfo> {
  c.send({ type: 'open-image', id: 1, path: file });
  return (await c.waitFor<Extract<ServerMessage, { type: 'image-opened' }>>((m) => m.type === 'image-opened')).image;
}

/** A visible float32 request for 8x tile (x, y). */
function tile8(i: ImageInfo, id: number, x: number, y: number) {
  return { id, imageId: i.imageId, level: i.nativeLevel + 3, x, y, encoding: 'f32' as const, priority: 'visible' as const };
}

/**
 * A cold view of 8 x `rows` tiles at 8x from (0,0): its viewport hint, then one `tiles` message whose first request
 * is tile (3,2), a tile inside the view; waits for every frame and checks that tile came first.
 */
async function coldView(c: TestClient, i: ImageInfo, rows: number): Promise<void> {
  const burst = [tile8(i, 10, 3, 2)];
  for (let y = 0; y < rows; y++) for (let x = 0; x < 8; x++) if (x !== 3 || y !== 2) burst.push(tile8(i, 11 + burst.length, x, y));
  c.send({ type: 'viewport', imageId: i.imageId, level: i.nativeLevel + 3, x0: 0, y0: 0, x1: 7, y1: rows - 1 });
  c.send({ type: 'tiles', requests: burst });
  for (const r of burst) await c.frame(r.id, 600_000);
  assert.equal(c.frames[0]!.header.requestId, 10, `first frame: request ${c.frames[0]!.header.requestId}`);
}

/** Whole-image inference by `reference` at level k (2^k x), in normalised units; computed once per level. */
function wholeImage(reference: SuperResBackend): (k: number, low: number, high: number) => Promise<Float32Array> {
  const done = new Map<string, Promise<Float32Array>>();
  return (k, low, high) => {
    const key = `${k}/${low}/${high}`;
    let p = done.get(key);
    if (!p) {
      p = (async () => {
        const out = new Float32Array(W * 2 ** k * H * 2 ** k);
        const reader = memoryReader(Float32Array.from(pixels), W, H);
        await superResolve(reader, reference, { tile: 1000, level: k, low, high }, async (b) => out.set(b.data, b.y * b.width));
        return out;
      })();
      done.set(key, p);
    }
    return p;
  };
}

async function checkSeams(client: TestClient, info: ImageInfo, whole = fp32Whole): Promise<void> {
  const { low, high } = info.percentiles;
  let id = 100;
  for (const k of [1, 2, 3]) {
    const level = info.nativeLevel + k;
    const lv = info.levels[level]!;
    const requests: { id: number; imageId: string; level: number; x: number; y: number; encoding: 'f32' }[] = [];
    for (let y = 0; y < lv.rows; y++)
      for (let x = 0; x < lv.columns; x++) requests.push({ id: id++, imageId: info.imageId, level, x, y, encoding: 'f32' });
    client.send({ type: 'tiles', requests });
    const stitched = new Float32Array(lv.width * lv.height).fill(NaN);
    for (const r of requests) {
      const f = await client.frame(r.id, 600_000); // minutes when the machine is shared (load 16 on 2 cores)
      assert.equal(f.header.level, level);
      const v = f32(f.payload);
      assert.equal(v.length, f.header.width * f.header.height);
      for (let row = 0; row < f.header.height; row++) {
        for (let col = 0; col < f.header.width; col++) {
          stitched[(r.y * 256 + row) * lv.width + r.x * 256 + col] = (v[row * f.header.width + col]! - low) / (high - low);
        }
      }
    }
    const ref = await whole(k, low, high);
    let d = 0;
    for (let i = 0; i < ref.length; i++) d = Math.max(d, Math.abs(ref[i]! - stitched[i]!)); // NaN (a gap) fails below
    assert.ok(d <= 1e-5, `level ${level} (${2 ** k}x): max abs diff ${d}`);
    let lo = Infinity,
      hi = -Infinity;
    for (const v of ref) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    assert.ok(hi - lo > 0.1, 'the reference output is not flat');
  }
}

test('a block size other than 32, 64 or 128 is refused with SR_ERR_USAGE before anything starts', async () => {
  await assert.rejects(
    startServer({ blockSize: 48 }),
    (e: { code?: string; message: string }) => e.code === 'SR_ERR_USAGE' && /block size 48/.test(e.message),
  );
  await assert.rejects(
    startServer({ firstBlockSize: 16 }),
    (e: { code?: string; message: string }) => e.code === 'SR_ERR_USAGE' && /first block size 16/.test(e.message),
  );
  await assert.rejects(startServer({ batch: 0 }), (e: { code?: string }) => e.code === 'SR_ERR_USAGE');
});
