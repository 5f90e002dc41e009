// Tile plans: cores partition the image exactly, windows are equal-sized, inside the image, and keep
// at least the halo around every core edge that is not an image edge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, PRESETS } from '../../models/config';
import { haloFor, planTiles, receptiveRadius } from '../../models/tiling';

test('cores cover every pixel once; windows hold the halo', () => {
  for (const [w, h, tile, halo] of [[100, 70, 32, 8], [33, 33, 32, 8], [10, 200, 16, 9], [5, 5, 64, 8], [64, 64, 64, 0]] as const) {
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
    assert.ok(seen.every((v) => v === 1), `${w}x${h} tile ${tile}`);
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
