// PSNR and SSIM against values worked out by hand and against a direct-sum SSIM written from the formula.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { psnr, ssim } from '../../../models/eval/metrics';

/** Deterministic uniform [0, 1) numbers (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A smooth image with texture in [0.2, 0.8]. */
function texture(w: number, h: number, seed: number): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) a[y * w + x] = 0.5 + 0.2 * Math.sin(x * 0.4) * Math.cos(y * 0.3) + 0.1 * (r() - 0.5);
  return a;
}

function addNoise(a: Float32Array, sigma: number, seed: number): Float32Array {
  const r = rng(seed);
  return a.map((v) => v + sigma * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}

/**
 * SSIM straight from Wang et al. 2004, eq. 13-15: for every 11x11 window wholly inside the image, the
 * Gaussian-weighted mean, variance and covariance summed directly (two-pass, deviations from the mean),
 * C1 = (0.01 L)^2, C2 = (0.03 L)^2, L = 1; the mean over windows.
 */
function directSsim(a: Float32Array, b: Float32Array, w: number, h: number): number {
  const wts: number[] = [];
  let z = 0;
  for (let j = -5; j <= 5; j++)
    for (let i = -5; i <= 5; i++) {
      const v = Math.exp(-(i * i + j * j) / (2 * 1.5 * 1.5));
      wts.push(v);
      z += v;
    }
  const c1 = 0.01 ** 2,
    c2 = 0.03 ** 2;
  let total = 0,
    count = 0;
  for (let cy = 5; cy < h - 5; cy++) {
    for (let cx = 5; cx < w - 5; cx++) {
      let mx = 0,
        my = 0;
      for (let j = -5, k = 0; j <= 5; j++)
        for (let i = -5; i <= 5; i++, k++) {
          mx += (wts[k]! / z) * a[(cy + j) * w + cx + i]!;
          my += (wts[k]! / z) * b[(cy + j) * w + cx + i]!;
        }
      let vx = 0,
        vy = 0,
        cov = 0;
      for (let j = -5, k = 0; j <= 5; j++)
        for (let i = -5; i <= 5; i++, k++) {
          const dx = a[(cy + j) * w + cx + i]! - mx,
            dy = b[(cy + j) * w + cx + i]! - my;
          vx += (wts[k]! / z) * dx * dx;
          vy += (wts[k]! / z) * dy * dy;
          cov += (wts[k]! / z) * dx * dy;
        }
      total += ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
      count++;
    }
  }
  return total / count;
}

test('PSNR: MSE 0.01 is 20 dB, other MSEs by hand, identical images are Infinity', () => {
  // every error 0.1: MSE 0.01 -> 10 log10(1 / 0.01) = 20 dB (0.1 is not exact in float32: 1e-5 slack)
  assert.ok(Math.abs(psnr(new Float32Array([0, 0, 0, 0]), new Float32Array([0.1, 0.1, 0.1, 0.1])) - 20) < 1e-5);
  // errors 0.25 and -0.25 (exact in float32): MSE 0.0625 -> 10 log10(16)
  assert.ok(Math.abs(psnr(new Float32Array([0.5, 0.25]), new Float32Array([0.75, 0])) - 10 * Math.log10(16)) < 1e-12);
  // data range 255, MSE 1 -> 20 log10(255)
  assert.ok(Math.abs(psnr(new Float32Array([10, 20]), new Float32Array([11, 19]), 255) - 20 * Math.log10(255)) < 1e-12);
  assert.equal(psnr(new Float32Array([0.1, 0.2]), new Float32Array([0.1, 0.2])), Infinity);
  assert.throws(() => psnr(new Float32Array(3), new Float32Array(4)), RangeError);
});

test('SSIM of identical images is 1', () => {
  const a = texture(40, 30, 1);
  assert.ok(Math.abs(ssim(a, a, 40, 30) - 1) < 1e-12);
});

test('SSIM of two flat images is the luminance term worked out by hand', () => {
  // No variance: SSIM = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1) at every window.
  const a = new Float32Array(20 * 16).fill(0.5);
  const b = new Float32Array(20 * 16).fill(0.625);
  const expected = (2 * 0.5 * 0.625 + 1e-4) / (0.25 + 0.390625 + 1e-4);
  assert.ok(Math.abs(ssim(a, b, 20, 16) - expected) < 1e-12, `${ssim(a, b, 20, 16)} vs ${expected}`);
});

test('SSIM equals the direct-sum formula for a shift, a contrast change and noise', () => {
  const w = 37,
    h = 29;
  const a = texture(w, h, 2);
  const cases: [string, Float32Array][] = [
    ['shift +0.1', a.map((v) => v + 0.1)],
    ['contrast x0.6', a.map((v) => 0.5 + 0.6 * (v - 0.5))],
    ['noise', addNoise(a, 0.05, 9)],
  ];
  for (const [what, b] of cases) {
    const got = ssim(a, b, w, h);
    const want = directSsim(a, b, w, h);
    assert.ok(Math.abs(got - want) < 1e-9, `${what}: ${got} vs direct ${want}`);
    assert.ok(got < 1 && got > 0, `${what}: ${got}`);
  }
});

test('SSIM is symmetric and lower for noisier images; PSNR too', () => {
  const w = 48,
    h = 40;
  const a = texture(w, h, 3);
  const less = addNoise(a, 0.02, 4);
  const more = addNoise(a, 0.1, 5);
  assert.ok(Math.abs(ssim(a, more, w, h) - ssim(more, a, w, h)) < 1e-12);
  assert.ok(ssim(a, less, w, h) > ssim(a, more, w, h) + 0.05, `${ssim(a, less, w, h)} vs ${ssim(a, more, w, h)}`);
  assert.ok(psnr(a, less) > psnr(a, more) + 10);
});

test('SSIM refuses images smaller than the window or of the wrong size', () => {
  assert.throws(() => ssim(new Float32Array(100), new Float32Array(100), 10, 10), /at least 11x11/);
  assert.throws(() => ssim(new Float32Array(150), new Float32Array(150), 11, 11), /values for a 11x11/);
});
