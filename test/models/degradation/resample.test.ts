// The LR-making operations are centred like the box mean: a linear ramp downsampled by any kernel lands
// on the ramp's value at each block's centre, constants stay constant, and box equals the eval's box mean.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { areaResample, downsample, gaussianBlur, pitchResample, type DownKernel } from '../../../models/degradation/resample';
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

test('areaResample: an integer pitch is the box mean of the top-left crop (the other-scope HR before --scope-pitch), bit for bit', () => {
  const w = W + 1,
    h = H + 1;
  const img = synthImage(w, h, 5);
  for (const p of [2, 3]) {
    const a = areaResample(img, w, h, p);
    const cw = Math.floor(w / p) * p,
      ch = Math.floor(h / p) * p;
    const cropped = new Float32Array(cw * ch);
    for (let r = 0; r < ch; r++) cropped.set(img.subarray(r * w, r * w + cw), r * cw);
    assert.deepEqual([a.width, a.height], [cw / p, ch / p]);
    assert.deepEqual(a.data, downsample(cropped, cw, ch, p, 'box'));
  }
});

test('areaResample: a fractional pitch integrates each wider pixel exactly (= the box mean of the image split into half pixels)', () => {
  const img = synthImage(W, H, 7);
  // Each pixel split into 2x2 equal halves (nearest): a pitch of 1.5 or 2.5 is then an integer box of 3 or 5.
  const fine = new Float32Array(4 * W * H);
  for (let y = 0; y < 2 * H; y++) for (let x = 0; x < 2 * W; x++) fine[y * 2 * W + x] = img[(y >> 1) * W + (x >> 1)]!;
  for (const p of [1.5, 2.5, 3]) {
    const r = areaResample(img, W, H, p);
    assert.deepEqual([r.width, r.height], [Math.floor(W / p), Math.floor(H / p)]);
    const want = areaResample(fine, 2 * W, 2 * H, 2 * p);
    assert.deepEqual([want.width, want.height], [r.width, r.height]);
    let worst = 0;
    for (let i = 0; i < r.data.length; i++) worst = Math.max(worst, Math.abs(r.data[i]! - want.data[i]!));
    assert.ok(worst < 1e-4, `pitch ${p}: max diff ${worst}`);
    assert.ok(areaResample(new Float32Array(W * H).fill(7), W, H, p).data.every((v) => Math.abs(v - 7) < 1e-5));
  }
  assert.throws(() => areaResample(img, W, H, 0.5), RangeError);
});

test('pitchResample below 1 (a finer camera): the band-limited field sampled on the finer grid; at or above 1, areaResample', () => {
  // A field well inside the band Lanczos-3 passes (periods of 12 and 17 pixels), recorded at pitch 1 by point
  // samples at the pixel centres: the finer recording must be the same field at the finer centres.
  const f = (x: number, y: number) => 3 + Math.cos((2 * Math.PI * x) / 12) + 0.5 * Math.sin((2 * Math.PI * y) / 17);
  const w = 96,
    h = 80;
  const rec = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rec[y * w + x] = f(x, y);
  for (const p of [0.5, 0.75]) {
    const r = pitchResample(rec, w, h, p);
    assert.deepEqual([r.width, r.height], [Math.floor(w / p), Math.floor(h / p)]);
    let worst = 0;
    // Away from the replicated edges (3 recorded pixels: Lanczos-3's reach).
    for (let j = Math.ceil(4 / p); j < r.height - Math.ceil(4 / p); j++)
      for (let i = Math.ceil(4 / p); i < r.width - Math.ceil(4 / p); i++)
        worst = Math.max(worst, Math.abs(r.data[j * r.width + i]! - f((i + 0.5) * p - 0.5, (j + 0.5) * p - 0.5)));
    assert.ok(worst < 0.02, `pitch ${p}: max error ${worst} against the field`);
    assert.ok(
      pitchResample(new Float32Array(w * h).fill(7), w, h, p).data.every((v) => Math.abs(v - 7) < 1e-5),
      'flat stays flat',
    );
  }
  const img = synthImage(W, H, 3);
  assert.deepEqual(pitchResample(img, W, H, 1.5), areaResample(img, W, H, 1.5));
  assert.throws(() => pitchResample(img, W, H, 0.4), RangeError);
});
