// Tests of the synthetic phase contrast sample: determinism, sizes, realistic statistics (against the
// Usiigaci 10x Ph1 fields it imitates: background median ~31700-32100 ADU), halo and cells present.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeSample } from '../../../models/sample/sample';
import { phaseMap } from '../../../models/sample/cells';
import { DEFAULT_OPTICS, imagePhase, opticsMargin, ringLowpass } from '../../../models/sample/optics';
import { fft1d } from '../../../models/sample/fft';
import { expose } from '../../../models/sample/noise';

const median = (d: Uint16Array): number => {
  const s = Uint16Array.from(d).sort();
  return s[s.length >> 1]!;
};

test('same seed gives identical bytes, another seed differs', () => {
  const a = makeSample({ width: 96, height: 80, seed: 3 });
  const b = makeSample({ width: 96, height: 80, seed: 3 });
  const c = makeSample({ width: 96, height: 80, seed: 4 });
  assert.deepEqual(a.data, b.data);
  assert.notDeepEqual(a.data, c.data);
  // default seed is 1
  assert.deepEqual(makeSample({ width: 40, height: 30 }).data, makeSample({ width: 40, height: 30, seed: 1 }).data);
});

test('size respected, incl. non-square and tiny images', () => {
  for (const [w, h] of [
    [64, 48],
    [48, 64],
    [1, 1],
    [7, 300],
    [513, 37],
  ] as const) {
    const s = makeSample({ width: w, height: h, seed: 2 });
    assert.equal(s.width, w);
    assert.equal(s.height, h);
    assert.equal(s.data.length, w * h);
    assert.ok(s.data instanceof Uint16Array);
    assert.equal(s.pixelSizeUm, 0.87);
  }
  assert.throws(() => makeSample({ width: 0, height: 10 }), RangeError);
  assert.throws(() => makeSample({ width: 10.5, height: 10 }), RangeError);
});

test('statistics look like the real 10x Ph1 fields', () => {
  const s = makeSample({ width: 512, height: 512, seed: 1 });
  const med = median(s.data);
  assert.ok(med > 30500 && med < 33000, `background median ${med}`);
  let halo = 0,
    dark = 0,
    dev = 0;
  for (const v of s.data) {
    if (v > 1.3 * med) halo++; // bright halos / rounded cells
    if (v < 0.7 * med) dark++; // dark cell edges and granules
    if (Math.abs(v - med) > 0.05 * med) dev++;
  }
  const n = s.data.length;
  assert.ok(halo / n > 0.002, `bright halo fraction ${halo / n}`);
  assert.ok(dark / n > 0.002, `dark fraction ${dark / n}`);
  // cells exist (real fields: 0.2-0.37 of pixels off the median by > 5%), but do not fill the field
  assert.ok(dev / n > 0.05 && dev / n < 0.6, `fraction deviating from background ${dev / n}`);
});

test('background noise is at the real camera level', () => {
  // An empty specimen: only illumination and camera noise remain.
  const w = 128,
    h = 128,
    m = opticsMargin(DEFAULT_OPTICS);
  const rel = imagePhase(new Float32Array((w + 2 * m) * (h + 2 * m)), w, h);
  for (const v of rel) assert.ok(Math.abs(v - 1) < 1e-9, 'empty field images to the background');
  const adu = expose(rel, w, h, 1);
  let mean = 0;
  for (const v of adu) mean += v;
  mean /= adu.length;
  let v2 = 0;
  for (const v of adu) v2 += (v - mean) ** 2;
  const std = Math.sqrt(v2 / adu.length);
  // Real fields: background patches have std ~350 ADU (incl. faint texture).
  assert.ok(Math.abs(mean - 31800) < 1000, `background mean ${mean}`);
  assert.ok(std > 250 && std < 450, `background noise ${std}`);
});

test('optics: tiling does not change the image', () => {
  const w = 200,
    h = 150,
    m = opticsMargin(DEFAULT_OPTICS);
  const phase = phaseMap(w + 2 * m, h + 2 * m, 5);
  const one = imagePhase(phase, w, h, DEFAULT_OPTICS, 512);
  const tiled = imagePhase(phase, w, h, DEFAULT_OPTICS, 64);
  let maxd = 0;
  for (let i = 0; i < one.length; i++) maxd = Math.max(maxd, Math.abs(one[i]! - tiled[i]!));
  assert.ok(maxd < 1e-6, `tile seams: max difference ${maxd}`);
});

test('optics: ring low-pass has unit sum and is symmetric; a phase step gets a dark edge and a bright halo', () => {
  const L = ringLowpass(DEFAULT_OPTICS);
  const n = 2 * DEFAULT_OPTICS.kernelRadius + 1;
  assert.ok(Math.abs(L.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) assert.ok(Math.abs(L[y * n + x]! - L[x * n + (n - 1 - y)]!) < 1e-12);
  // A disc of phase 0.4 rad, radius 20 px: shade-off (centre back near 1), dark inside its edge, bright halo outside.
  const w = 96,
    m = opticsMargin(DEFAULT_OPTICS),
    pw = w + 2 * m;
  const ph = new Float32Array(pw * pw);
  for (let y = 0; y < pw; y++) for (let x = 0; x < pw; x++) if (Math.hypot(x - pw / 2, y - pw / 2) < 20) ph[y * pw + x] = 0.4;
  const I = imagePhase(ph, w, w);
  const row = (x: number): number => I[48 * w + x]!;
  assert.ok(Math.abs(row(48) - 1) < 0.1, `shade-off: centre ${row(48)}`);
  assert.ok(Math.min(row(48 + 17), row(48 + 18), row(48 + 19)) < 0.8, 'dark edge inside');
  assert.ok(Math.max(row(48 + 20), row(48 + 21), row(48 + 22)) > 1.2, 'bright halo outside');
});

test('fft1d round trip', () => {
  const re = Float64Array.from({ length: 16 }, (_, i) => Math.sin(i * 1.3) + i);
  const im = Float64Array.from({ length: 16 }, (_, i) => Math.cos(i * 0.7));
  const r0 = re.slice(),
    i0 = im.slice();
  fft1d(re, im);
  fft1d(re, im, true);
  for (let i = 0; i < 16; i++) {
    assert.ok(Math.abs(re[i]! / 16 - r0[i]!) < 1e-12);
    assert.ok(Math.abs(im[i]! / 16 - i0[i]!) < 1e-12);
  }
  assert.throws(() => fft1d(new Float64Array(12), new Float64Array(12)), RangeError);
});
