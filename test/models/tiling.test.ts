// Tile plans: cores partition the image exactly, windows are equal-sized, inside the image, and keep
// at least the halo around every core edge that is not an image edge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, PRESETS } from '../../models/config';
import { clippedWindow, copyRect, cropRect, haloFor, pieceRect, planTiles, receptiveRadius } from '../../models/tiling';

test('cores cover every pixel once; windows hold the halo', () => {
  for (const [w, h, tile, halo] of [
    [100, 70, 32, 8],
    [33, 33, 32, 8],
    [10, 200, 16, 9],
    [5, 5, 64, 8],
    [64, 64, 64, 0],
  ] as const) {
    const plans = planTiles(w, h, tile, halo);
    const seen = new Uint8Array(w * h);
    const win = plans[0]!.window;
    for (const { core, window } of plans) {
      for (let y = core.y; y < core.y + core.h; y++) for (let x = core.x; x < core.x + core.w; x++) seen[y * w + x]!++;
      assert.equal(window.w, win.w);
      assert.equal(window.h, win.h);
      assert.ok(window.x >= 0 && window.y >= 0 && window.x + window.w <= w && window.y + window.h <= h);
      // Each side: the window reaches `halo` past the core, or the image edge (where zero padding is
      // the same as in whole-image inference).
      assert.ok(window.x <= Math.max(0, core.x - halo) && window.y <= Math.max(0, core.y - halo));
      assert.ok(window.x + window.w >= Math.min(w, core.x + core.w + halo));
      assert.ok(window.y + window.h >= Math.min(h, core.y + core.h + halo));
    }
    assert.ok(
      seen.every((v) => v === 1),
      `${w}x${h} tile ${tile}`,
    );
  }
  assert.throws(() => planTiles(10, 10, 0, 1), RangeError);
});

test('the halo grows with convolutions and levels', () => {
  const lite = PRESETS.lite(8);
  assert.ok(haloFor(lite) > receptiveRadius(lite));
  const one = parseConfig({ ...lite, convsPerModule: 1 });
  assert.ok(receptiveRadius(one) < receptiveRadius(lite));
  assert.ok(receptiveRadius(PRESETS.lite(2)) < receptiveRadius(lite));
});

test('crop and placement: a rectangle copied out of one plane and into another keeps every pixel', () => {
  // A 6x4 plane as item 1 of a batch (offset 24), each pixel valued 100 * y + x.
  const batch = new Float32Array(48);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 6; x++) batch[24 + y * 6 + x] = 100 * y + x;
  const c = cropRect(batch, 6, { x: 2, y: 1, w: 3, h: 2 }, 24);
  assert.deepEqual([...c], [102, 103, 104, 202, 203, 204]);
  const out = new Float32Array(5 * 4).fill(-1);
  copyRect(c, 3, { x: 1, y: 0, w: 2, h: 2 }, { data: out, width: 5, x: 3, y: 2 });
  assert.deepEqual([...out.subarray(10)], [-1, -1, -1, 103, 104, -1, -1, -1, 203, 204]);
  assert.ok(out.subarray(0, 10).every((v) => v === -1));
});

test('pieceRect: the share of a tile inside a block core at scale s; clippedWindow stops at the image', () => {
  // Tile [256, 512) x [0, 256) at 4x against LR core x 96..160, y 0..64 -> output [384, 640) x [0, 256).
  assert.deepEqual(pieceRect({ x: 256, y: 0, w: 256, h: 256 }, { x: 96, y: 0, w: 64, h: 64 }, 4), { x: 128, y: 0, w: 128, h: 256 });
  assert.deepEqual(clippedWindow({ x: 2, y: 10, w: 4, h: 4 }, 3, 8, 20), { x: 0, y: 7, w: 8, h: 10 });
});
