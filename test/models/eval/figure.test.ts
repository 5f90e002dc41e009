// The comparison figure: panel layout, the detail-seeking crop, and the LR shown by its real pixels.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { busiestCrop, makeFigure, nearestUp } from '../../../models/eval/figure';
import { makeEvalPair } from '../../../models/eval/pairs';

test('figure: one labelled panel per method, on the crop with the most detail', async () => {
  const w = 96,
    h = 64;
  const hr = new Float32Array(w * h).fill(1000);
  // Texture only in the lower right quarter.
  // mean ~1000: only the texture raises the variance
  for (let y = 32; y < 64; y++) for (let x = 64; x < 96; x++) hr[y * w + x] = 1000 + (((x * 7 + y * 3) % 11) - 5) * 150;
  const pair = await makeEvalPair('t.tif', hr, w, h, 'uint16', 8);
  assert.deepEqual(busiestCrop(pair, 32), { x: 64, y: 32 });
  const lr = nearestUp(pair);
  assert.equal(lr[0], pair.lr[0]);
  assert.equal(lr[9 * w + 17], pair.lr[1 * pair.lrWidth + 2]);
  const png = await makeFigure(
    pair,
    [
      { label: 'LR', data: lr },
      { label: 'HR', data: pair.hr, scored: true },
    ],
    { size: 32, zoom: 2 },
  );
  const meta = await sharp(png).metadata();
  assert.equal(meta.width, 2 * 64 + 6);
  assert.equal(meta.height, 64 + 28);
});
