// An engine call that names the part of its window it needs (`need`, what the tile server and `phasesr sr`
// pass: a tile's core) runs the x2 cascade on that part plus cascadeHalo only, while the input module and
// the LR body still see the whole window. Inside `need` every level must equal the whole window's output;
// the region it returns is exactly `need` widened by the margin and clipped to the window (the work done).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { levelCount, parseConfig, PRESETS, type ModelConfig } from '../../models/config';
import type { LevelBatch } from '../../models/engine/backend';
import { OrtBackend } from '../../models/engine/ort-backend';
import { generatorParams, mulberry32, randomWeights } from '../../models/params';
import { cascadeHalo, clippedWindow, haloFor, type Rect } from '../../models/tiling';

const [N, H, W] = [2, 34, 40];
const BASE = { leakySlope: 0.2, lnEpsilon: 1e-5, discWidths: [4, 4, 4, 4] };
const CONFIGS: ModelConfig[] = [
  PRESETS.body(8),
  parseConfig({ ...PRESETS.lite(8), skip: 'bilinear' }),
  parseConfig({ ...BASE, name: 'plain-x4', scale: 4, widths: [8, 6, 4], convsPerModule: 1, dpf: false, skip: 'none' }),
];
const NEEDS: Rect[] = [
  { x: 12, y: 10, w: 16, h: 14 }, // interior: cut on all four sides
  { x: 0, y: 0, w: 9, h: 7 }, // a corner: cut on two sides only
  { x: 33, y: 20, w: 7, h: 14 }, // the right and bottom edges
  { x: 19, y: 16, w: 1, h: 1 }, // one pixel
  { x: 0, y: 0, w: W, h: H }, // all of it
];

/** Max |a - b| over `need` (LR pixels of the window) at one level of item b of both outputs. */
function diffInside(whole: LevelBatch, part: LevelBatch, need: Rect): number {
  const s = whole.scale;
  const o = part.origin ?? { x: 0, y: 0 };
  let m = 0;
  for (let b = 0; b < N; b++)
    for (let y = need.y * s; y < (need.y + need.h) * s; y++)
      for (let x = need.x * s; x < (need.x + need.w) * s; x++) {
        const a = whole.data[b * whole.width * whole.height + y * whole.width + x]!;
        const c = part.data[b * part.width * part.height + (y - o.y * s) * part.width + (x - o.x * s)]!;
        m = Math.max(m, Math.abs(a - c));
      }
  return m;
}

for (const [i, cfg] of CONFIGS.entries()) {
  const engine = await OrtBackend.create(cfg, randomWeights(generatorParams(cfg), 40 + i), { engine: 'ort-cpu', threads: 1 });
  after(() => engine.dispose());
  const rand = mulberry32(60 + i);
  const input = Float32Array.from({ length: N * H * W }, () => rand());

  test(`${cfg.name}: a call with need equals the whole window inside it and runs the cascade on need + ${cascadeHalo(cfg)} only`, async () => {
    const whole = await engine.run(input.slice(), N, H, W);
    assert.equal(whole.length, levelCount(cfg));
    for (const need of NEEDS) {
      const part = await engine.run(input.slice(), N, H, W, need);
      const region = clippedWindow(need, cascadeHalo(cfg), W, H);
      for (const [k, lv] of part.entries()) {
        const s = 2 ** (k + 1);
        assert.deepEqual(
          [lv.scale, lv.origin, lv.width, lv.height, lv.data.length],
          [s, { x: region.x, y: region.y }, region.w * s, region.h * s, N * region.w * s * region.h * s],
          `x${s} region for need ${JSON.stringify(need)}`,
        );
        const d = diffInside(whole[k]!, lv, need);
        assert.ok(d <= 1e-5, `x${s}, need ${JSON.stringify(need)}: max |part - whole| = ${d}`);
      }
    }
  });
}

test('the cascade margin is small next to the halo: what a tile saves', () => {
  // body: halo 16 (the LR body's reach), cascade 5: a 64² core's cascade runs on 74², not the 96² window.
  const body = PRESETS.body(8);
  assert.deepEqual([haloFor(body), cascadeHalo(body)], [16, 5]);
  // Fewer levels, fewer x2 modules: a 2x model with one conv per module reaches 1.5 LR px (the skip 1).
  assert.equal(
    cascadeHalo(parseConfig({ ...BASE, name: 'x2', scale: 2, widths: [8, 4], convsPerModule: 1, dpf: true, skip: 'bilinear' })),
    3,
  );
});

test('a need outside the window is a RangeError, before anything runs', async () => {
  const cfg = CONFIGS[2]!;
  const engine = await OrtBackend.create(cfg, randomWeights(generatorParams(cfg), 7), { engine: 'ort-cpu', threads: 1 });
  try {
    await assert.rejects(engine.run(new Float32Array(H * W), 1, H, W, { x: 30, y: 0, w: 11, h: 4 }), RangeError);
    await assert.rejects(engine.run(new Float32Array(H * W), 1, H, W, { x: 3, y: 3, w: 0, h: 4 }), RangeError);
  } finally {
    await engine.dispose();
  }
});
