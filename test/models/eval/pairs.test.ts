// Evaluation pairs: box downsampling, the crop to a multiple of the scale, rounding to the dtype, and
// loading a folder of real 16-bit files.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { boxDownsample, listEvalImages, loadEvalPair, loadEvalPairs, makeEvalPair } from '../../../models/eval/pairs';
import { writeImage } from '../../../models/io/write-image';
import { tempDir } from '../../helpers/shared';

const dir = tempDir();

/** numpy's default ('linear') percentile, from a full sort. */
function percentile(values: Float32Array, p: number): number {
  const s = Float64Array.from(values).sort();
  const pos = (p / 100) * (s.length - 1);
  const lo = Math.floor(pos);
  return lo + 1 < s.length ? s[lo]! + (s[lo + 1]! - s[lo]!) * (pos - lo) : s[lo]!;
}

test('box downsampling of a known 4x4 array: exact means (float32), rounded half up (uint16)', () => {
  const a = Float32Array.from({ length: 16 }, (_, i) => i + 1); // rows 1..4, 5..8, 9..12, 13..16
  assert.deepEqual([...boxDownsample(a, 4, 4, 2, 'float32')], [3.5, 5.5, 11.5, 13.5]);
  assert.deepEqual([...boxDownsample(a, 4, 4, 2, 'uint16')], [4, 6, 12, 14]);
  assert.deepEqual([...boxDownsample(a, 4, 4, 4, 'uint8')], [9]); // 8.5 -> 9
  // 0.25 -> 0 and 0.75 -> 1: rounding, not truncation or ceiling
  assert.deepEqual([...boxDownsample(new Float32Array([0, 0, 0, 1, 0, 1, 1, 1]), 4, 2, 2, 'uint8')], [0, 1]);
});

test('box downsampling drops the rows and columns past the last whole block', () => {
  // 5x3, f = 2 -> 2x1 from the top-left 4x2; the last column (100s) and row (1000s) are ignored
  const a = new Float32Array([1, 2, 3, 4, 100, 5, 6, 7, 8, 100, 1000, 1000, 1000, 1000, 1000]);
  assert.deepEqual([...boxDownsample(a, 5, 3, 2, 'float32')], [3.5, 5.5]);
});

test('a pair crops HR top-left to a multiple of the scale; a constant HR gives that constant LR', async () => {
  const w = 131,
    h = 99;
  const ramp = Float32Array.from({ length: w * h }, (_, i) => (i % w) + 100 * Math.floor(i / w));
  const p = await makeEvalPair('ramp', ramp, w, h, 'uint16', 8);
  assert.deepEqual([p.width, p.height, p.lrWidth, p.lrHeight, p.scale], [128, 96, 16, 12, 8]);
  for (const [x, y] of [
    [0, 0],
    [127, 0],
    [0, 95],
    [127, 95],
    [60, 41],
  ] as const)
    assert.equal(p.hr[y * 128 + x], x + 100 * y);
  // block (1, 2): x 8..15, y 16..23 -> mean 11.5 + 100 * 19.5 = 1961.5 -> 1962 (uint16)
  assert.equal(p.lr[2 * 16 + 1], 1962);
  const flat = await makeEvalPair('flat', new Float32Array(w * h).fill(1234), w, h, 'uint16', 8);
  assert.ok(flat.lr.every((v) => v === 1234));
  assert.deepEqual([flat.low, flat.high], [1234, 1234]);
  await assert.rejects(makeEvalPair('tiny', new Float32Array(7 * 20), 7, 20, 'uint16', 8), { code: 'SR_ERR_EVAL_DATA' });
});

test('loading 16-bit PNG and TIFF files: raw values, crop, HR percentiles; the folder sorted by name', async () => {
  const data = path.join(dir, 'pairs');
  mkdirSync(data);
  const w = 70,
    h = 53;
  const px = Float32Array.from({ length: w * h }, (_, i) => ((i * 7919) % 60000) + 17);
  await sharp(Uint16Array.from(px), { raw: { width: w, height: h, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toFile(path.join(data, 'b.png'));
  await writeImage(path.join(data, 'a.tif'), { width: w, height: h, dtype: 'uint16', data: Uint16Array.from(px) });
  writeFileSync(path.join(data, 'notes.txt'), 'not an image');
  assert.deepEqual(
    (await listEvalImages(data)).map((f) => path.basename(f)),
    ['a.tif', 'b.png'],
  );
  const pairs = await loadEvalPairs(data, 8);
  assert.deepEqual(
    pairs.map((p) => p.name),
    ['a.tif', 'b.png'],
  );
  for (const p of pairs) {
    assert.equal(p.dtype, 'uint16');
    assert.deepEqual([p.width, p.height, p.lrWidth, p.lrHeight], [64, 48, 8, 6]);
    const crop = new Float32Array(64 * 48);
    for (let y = 0; y < 48; y++) for (let x = 0; x < 64; x++) crop[y * 64 + x] = px[y * w + x]!;
    assert.deepEqual(p.hr, crop);
    assert.equal(p.low, percentile(crop, 0.1));
    assert.equal(p.high, percentile(crop, 99.9));
  }
  const one = await loadEvalPair(path.join(data, 'b.png'), 4);
  assert.deepEqual([one.width, one.height, one.lr.length], [68, 52, 17 * 13]);
});

test('a missing or empty data folder is a clear, coded error', async () => {
  await assert.rejects(listEvalImages(path.join(dir, 'nope')), { code: 'SR_ERR_EVAL_DATA', message: /data folder not found/ });
  const empty = path.join(dir, 'empty');
  mkdirSync(empty);
  await assert.rejects(listEvalImages(empty), { code: 'SR_ERR_EVAL_DATA', message: /no .png\/.tif\/.tiff images/ });
});
