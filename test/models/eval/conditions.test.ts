// The evaluation's other conditions and the data split: blur-noise makes a different, reproducible LR with
// 1% noise; other-scope scores an 8-bit HR with twice the pixel pitch against its box mean; the shipped split
// keeps train, val and test apart, and every file it names exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BLUR_NOISE, describeCondition, OTHER_SCOPE } from '../../../models/degradation/conditions';
import { downsample, gaussianBlur } from '../../../models/degradation/resample';
import { makeEvalPair, percentilesOf } from '../../../models/eval/pairs';
import { DEFAULT_SPLIT, splitFiles } from '../../../models/splits/split';
import { synthImage } from '../../helpers/image';
import { DATA as SHARED_DATA, tempDir } from '../../helpers/shared';

const W = 128,
  H = 96;

test('blur-noise: LR = Gaussian blur, centre sample, 1% noise of the HR range, rounded, the same every time', async () => {
  const hr = synthImage(W, H, 4).map((v) => 20 * v);
  const box = await makeEvalPair('a.png', hr, W, H, 'uint16', 8);
  const bn = await makeEvalPair('a.png', hr, W, H, 'uint16', 8, 'blur-noise');
  assert.equal(bn.lr.length, box.lr.length);
  assert.ok(bn.lr.every((v) => Number.isInteger(v)));
  assert.deepEqual(bn.lr, (await makeEvalPair('a.png', hr, W, H, 'uint16', 8, 'blur-noise')).lr, 'seeded noise');
  assert.notDeepEqual(bn.lr, (await makeEvalPair('b.png', hr, W, H, 'uint16', 8, 'blur-noise')).lr, 'another image, other noise');
  const clean = downsample(gaussianBlur(bn.hr, W, H, BLUR_NOISE.sigmaPerScale * 8), W, H, 8, 'centre');
  const resid = bn.lr.map((v, i) => v - clean[i]!);
  const sd = Math.sqrt(resid.reduce((a, v) => a + v * v, 0) / resid.length);
  const want = BLUR_NOISE.noise * (bn.high - bn.low);
  assert.ok(Math.abs(sd - want) < 0.25 * want, `noise sd ${sd}, want ~${want}`);
  assert.ok(
    box.lr.some((v, i) => Math.abs(v - bn.lr[i]!) > 2 * want),
    'differs from the box mean',
  );
});

test('other-scope: the HR is the 2x2 mean stretched over 8 bits, and the LR is its box mean', async () => {
  const hr = synthImage(W, H, 4).map((v) => 20 * v);
  const o = await makeEvalPair('a.png', hr, W, H, 'uint16', 8, 'other-scope');
  assert.equal(o.dtype, 'uint8');
  assert.equal(o.width, Math.floor(W / 2 / 8) * 8);
  assert.equal(o.height, Math.floor(H / 2 / 8) * 8);
  assert.ok(o.hr.every((v) => Number.isInteger(v) && v >= 0 && v <= 255));
  // Its percentile range sits where the stretch put it (a few levels of rounding either way).
  assert.ok(Math.abs(o.low - OTHER_SCOPE.low8) <= 3 && Math.abs(o.high - OTHER_SCOPE.high8) <= 3, `${o.low}..${o.high}`);
  // One HR pixel is the mean of a 2x2 block of the original, mapped linearly by the 2x2 image's percentiles.
  const wide = downsample(hr.slice(0, (H - (H % 2)) * W), W, H - (H % 2), 2, 'box');
  const p = await percentilesOf(wide, W / 2, Math.floor(H / 2), 'float32');
  const k = (OTHER_SCOPE.high8 - OTHER_SCOPE.low8) / (p.high - p.low);
  const mean00 = (hr[0]! + hr[1]! + hr[W]! + hr[W + 1]!) / 4;
  assert.ok(Math.abs(wide[0]! - mean00) < 1e-3);
  assert.ok(Math.abs(o.hr[0]! - Math.min(255, Math.max(0, OTHER_SCOPE.low8 + (mean00 - p.low) * k))) <= 0.5 + 1e-6);
  assert.deepEqual(
    o.lr,
    downsample(o.hr, o.width, o.height, 8, 'box').map((v) => Math.round(v)),
  );
});

test('other-scope at another pitch (eval --scope-pitch 3): the HR has a third of the pixels across', async () => {
  const hr = synthImage(W, H, 4).map((v) => 20 * v);
  const o = await makeEvalPair('a.png', hr, W, H, 'uint16', 8, 'other-scope', 3);
  assert.equal(o.width, Math.floor(W / 3 / 8) * 8);
  assert.equal(o.height, Math.floor(H / 3 / 8) * 8);
  assert.equal(o.dtype, 'uint8');
  assert.match(describeCondition('other-scope', 8, 3), /mean over 3x3 pixels/);
});

test('the shipped split: sets are disjoint, test has >= 5 fields, every file exists', async () => {
  const sets = await Promise.all((['train', 'val', 'test'] as const).map((s) => splitFiles(DEFAULT_SPLIT, SHARED_DATA, s)));
  const all = sets.flat();
  assert.equal(new Set(all).size, all.length);
  assert.ok(sets[2]!.length >= 5 && sets[1]!.length >= 5);
  for (const f of all) assert.ok(existsSync(f), f);
});

test('a split file that puts one image in two sets is refused with a coded error', async () => {
  const f = path.join(tempDir(), 'bad.json');
  await writeFile(f, JSON.stringify({ description: 'x', train: ['a.png'], val: ['b.png'], test: ['a.png'] }));
  await assert.rejects(
    splitFiles(f, '/data', 'test'),
    (e: { code?: string; message: string }) => e.code === 'SR_ERR_EVAL_DATA' && /both train and test/.test(e.message),
  );
});
