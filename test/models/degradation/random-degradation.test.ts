// The training degradation draws every kind of microscope the recipe promises, a share of crops (a quarter unless --box-share says otherwise) stay the
// paper's box mean, noise has the drawn strength, and a drawn batch is reproducible from the RNG state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { degrade, drawDegradation, NO_DEGRADATION, type Degradation } from '../../../models/degradation/random-degradation';
import { downsample } from '../../../models/degradation/resample';
import { Mulberry32 } from '../../../models/params';
import { trainingBatch, type TrainImage } from '../../../models/train/data';
import { synthImage } from '../../helpers/image';

test('draws cover every part of the recipe, and a quarter are the plain box mean', () => {
  const rng = new Mulberry32(3);
  const draws: Degradation[] = Array.from({ length: 4000 }, () => drawDegradation(rng, 8));
  const frac = (f: (d: Degradation) => boolean) => draws.filter(f).length / draws.length;
  const plain = frac((d) => JSON.stringify(d) === JSON.stringify(NO_DEGRADATION));
  assert.ok(plain > 0.22 && plain < 0.32, `plain box ${plain}`);
  for (const k of ['box', 'bilinear', 'bicubic']) assert.ok(frac((d) => d.kernel === k) > 0.1, k);
  assert.ok(frac((d) => d.blurSigma > 0) > 0.3);
  assert.ok(frac((d) => d.gauss > 0) > 0.4 && frac((d) => d.poisson > 0) > 0.15);
  assert.ok(frac((d) => d.step > 0) > 0.3);
  assert.ok(frac((d) => d.gamma !== 1) > 0.3 && frac((d) => d.gain !== 1) > 0.3);
  // 8-bit steps appear: at most 1/(255 * 0.25) of the normalised range.
  assert.ok(draws.some((d) => d.step > 1 / 255));
});

test('noise is added at the drawn strength, after sampling', () => {
  const size = 256,
    s = 8;
  const flat = new Float32Array(size * size).fill(0.5);
  const lr = degrade(flat, size, s, { ...NO_DEGRADATION, gauss: 0.02 }, new Mulberry32(1));
  const mean = lr.reduce((a, v) => a + v, 0) / lr.length;
  const sd = Math.sqrt(lr.reduce((a, v) => a + (v - mean) ** 2, 0) / lr.length);
  assert.ok(Math.abs(sd - 0.02) < 0.004, `noise sd ${sd}`);
  assert.deepEqual(degrade(flat, size, s, NO_DEGRADATION, new Mulberry32(1)), downsample(flat, size, size, s, 'box'));
});

test('a training batch: LR is the box mean without the degradation, differs with it, and replays from the RNG state', () => {
  const img: TrainImage = {
    name: 'synth',
    width: 160,
    height: 144,
    data: synthImage(160, 144, 2).map((v) => v / 1000),
    low: 0,
    high: 1000,
  };
  const plain = trainingBatch([img], new Mulberry32(9), 64, 3, 8, false);
  for (let b = 0; b < 3; b++) {
    const want = downsample(plain.hr.subarray(b * 4096, (b + 1) * 4096), 64, 64, 8, 'box');
    assert.deepEqual(plain.lr.subarray(b * 64, (b + 1) * 64), want);
  }
  const a = trainingBatch([img], new Mulberry32(9), 64, 8, 8, true);
  const b = trainingBatch([img], new Mulberry32(9), 64, 8, 8, true);
  assert.deepEqual(a, b);
  let differs = 0;
  for (let i = 0; i < 8; i++) {
    const box = downsample(a.hr.subarray(i * 4096, (i + 1) * 4096), 64, 64, 8, 'box');
    if (box.some((v, j) => Math.abs(v - a.lr[i * 64 + j]!) > 1e-4)) differs++;
  }
  assert.ok(differs >= 3, `${differs} of 8 crops degraded beyond the box mean`);
});

test('--box-share sets the share of crops that keep the plain box mean, and the default draws as before', () => {
  const plainShare = (share: number | undefined) => {
    const rng = new Mulberry32(5);
    const draws = Array.from({ length: 4000 }, () => (share === undefined ? drawDegradation(rng, 8) : drawDegradation(rng, 8, share)));
    return draws.filter((d) => JSON.stringify(d) === JSON.stringify(NO_DEGRADATION)).length / draws.length;
  };
  // A few non-plain draws land on no change at all by chance, so the share is a floor, not exact.
  const half = plainShare(0.5);
  assert.ok(half > 0.47 && half < 0.56, `share 0.5 gave ${half}`);
  assert.equal(plainShare(1), 1);
  assert.ok(plainShare(0) < 0.06, `share 0 gave ${plainShare(0)}`);
  // Runs that predate the option resume with the same RNG stream: the default equals an explicit 0.25.
  assert.equal(plainShare(undefined), plainShare(0.25));
});

test('--wide-share draws that share of crops from the wide-pixel images, and none draws as before', () => {
  const flat = (v: number, w: number, h: number): TrainImage => ({
    name: `flat${v}`,
    width: w,
    height: h,
    data: new Float32Array(w * h).fill(v),
    low: 0,
    high: 1,
  });
  const images = [flat(1, 160, 144)],
    wide = [flat(7, 80, 72)];
  const fromWide = (share: number) => {
    const { hr } = trainingBatch(images, new Mulberry32(4), 64, 64, 8, false, 0.25, { images: wide, share });
    let n = 0;
    for (let b = 0; b < 64; b++) if (hr[b * 4096] === 7) n++;
    return n;
  };
  assert.equal(fromWide(1), 64);
  assert.equal(fromWide(0), 0);
  const half = fromWide(0.5);
  assert.ok(half > 20 && half < 44, `${half} of 64 crops from the wide images`);
  // Share 0 replays the stream of a run made before the option.
  assert.deepEqual(
    trainingBatch(images, new Mulberry32(4), 64, 4, 8, true, 0.25, { images: wide, share: 0 }),
    trainingBatch(images, new Mulberry32(4), 64, 4, 8, true),
  );
});
