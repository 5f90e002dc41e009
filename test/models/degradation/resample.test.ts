// The LR-making operations are centred like the box mean: a linear ramp downsampled by any kernel lands
// on the ramp's value at each block's centre, constants stay constant, and box equals the eval's box mean.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downsample, gaussianBlur, type DownKernel } from '../../../models/degradation/resample';
import { boxDownsample } from '../../../models/eval/pairs';
import { synthImage } from '../../helpers/image';

const W = 96,
  H = 64,
  F = 8;

test("box downsampling equals the evaluation's box mean", () => {
  const img = synthImage(W, H, 3);
  const a = downsample(img, W, H, F, 'box');
  const b = boxDownsample(img, W, H, F, 'float32');
  assert.equal(a.length, (W / F) * (H / F));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  assert.ok(worst < 1e-3, `max diff ${worst}`);
});

for (const kernel of ['box', 'bilinear', 'bicubic', 'centre'] as DownKernel[]) {
  test(`${kernel}: a ramp lands on the value at each block's centre (away from the clamped edges); a constant stays constant`, () => {
    const ramp = new Float32Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) ramp[y * W + x] = 3 * x + 5 * y;
    const lr = downsample(ramp, W, H, F, kernel);
    const lw = W / F;
    for (let j = 2; j < H / F - 2; j++) {
      for (let i = 2; i < lw - 2; i++) {
        const want = 3 * (i * F + (F - 1) / 2) + 5 * (j * F + (F - 1) / 2);
        assert.ok(Math.abs(lr[j * lw + i]! - want) < 1e-3, `LR(${i},${j}) = ${lr[j * lw + i]}, want ${want}`);
      }
    }
    const flat = downsample(new Float32Array(W * H).fill(7), W, H, F, kernel);
    assert.ok(flat.every((v) => Math.abs(v - 7) < 1e-5));
  });
}

test('the kernels differ: bicubic is sharper than bilinear, which is smoother than box', () => {
  // A one-pixel line: its LR energy spreads over more LR pixels with the wider kernels.
  const line = new Float32Array(W * H);
  for (let y = 0; y < H; y++) line[y * W + 43] = 1;
  const spread = (k: DownKernel) => downsample(line, W, H, F, k).filter((v) => Math.abs(v) > 1e-6).length;
  assert.ok(spread('box') < spread('bilinear'), `box ${spread('box')}, bilinear ${spread('bilinear')}`);
  assert.ok(spread('bilinear') <= spread('bicubic'));
});

test('Gaussian blur keeps a constant and the mean, and smooths', () => {
  const img = synthImage(W, H, 5);
  const b = gaussianBlur(img, W, H, 2);
  const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(mean(b) - mean(img)) < 0.02 * mean(img));
  const tv = (a: Float32Array) => {
    let s = 0;
    for (let i = 1; i < a.length; i++) s += Math.abs(a[i]! - a[i - 1]!);
    return s;
  };
  assert.ok(tv(b) < 0.7 * tv(img), 'blur lowers the total variation');
  assert.ok(gaussianBlur(new Float32Array(W * H).fill(3), W, H, 3).every((v) => Math.abs(v - 3) < 1e-5));
});
