// --wide-pitches: the wide crops come from each training image once per pitch (area-resampled, so a uniform
// draw of an image is a uniform draw of a pitch); a given pitch that leaves an image smaller than the crop, or
// pitches with --wide-share 0, are usage errors before any step. Each file is decoded once for all pitches.
// A new run without the flags records the default recipe's share and pitches, less those its images cannot fill.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import { writeImage } from '../../../models/io/write-image';
import { loadTrainImage } from '../../../models/train/data';
import { loadTrainingData, openRun } from '../../../models/train/run-setup';
import { DEFAULT_RECIPE, type RunOptions, type TrainOptions } from '../../../models/train/run-options';
import { synthImage } from '../../helpers/image';
import { tempDir } from '../../helpers/shared';

const root = tempDir();
const files = [1, 2].map((s) => path.join(root, `img${s}.tif`));

before(async () => {
  for (const [i, f] of files.entries()) {
    const px = Uint16Array.from(synthImage(72, 64, i + 1), (v) => Math.round(v * 40));
    await writeImage(f, { width: 72, height: 64, dtype: 'uint16', data: px });
  }
});

const run = (over: Partial<RunOptions>) => ({ scale: 8, crop: 16, ...over }) as RunOptions;
const opts = { data: root } as TrainOptions;

test('each image once per pitch, at floor(size / pitch); without --wide-pitches the one pitch is 2 (as before the option)', async () => {
  const d = await loadTrainingData(opts, run({ wideShare: 0.5, widePitches: [1.5, 3] }), files, () => {});
  assert.equal(d.images.length, 2);
  assert.deepEqual(
    d.wide?.images.map((im) => [im.width, im.height]),
    [
      [48, 42],
      [48, 42],
      [24, 21],
      [24, 21],
    ],
  );
  assert.equal(d.wide?.share, 0.5);
  // Pitch-major (every file at 1.5, then at 3): the order a resumed run's random draws index into.
  assert.deepEqual(
    d.wide?.images.map((im) => im.name),
    ['img1.tif', 'img2.tif', 'img1.tif', 'img2.tif'],
  );
  // Decoding each file once for all pitches leaves the pitch-1 image as loadTrainImage gives it.
  assert.deepEqual(d.images[1], await loadTrainImage(files[1]!, 8));
  const old = await loadTrainingData(opts, run({ wideShare: 0.3 }), files, () => {});
  assert.deepEqual(
    old.wide?.images.map((im) => [im.width, im.height]),
    [
      [36, 32],
      [36, 32],
    ],
  );
  assert.equal((await loadTrainingData(opts, run({}), files, () => {})).wide, undefined);
  // A finer camera (pitch below 1): more pixels, the same field interpolated.
  const fine = await loadTrainingData(opts, run({ wideShare: 0.5, widePitches: [0.75] }), files, () => {});
  assert.deepEqual(
    fine.wide?.images.map((im) => [im.width, im.height]),
    [
      [96, 85],
      [96, 85],
    ],
  );
});

test('a given pitch that leaves an image smaller than the crop, or --wide-pitches with --wide-share 0: SR_ERR_USAGE', async () => {
  await assert.rejects(
    loadTrainingData({ ...opts, widePitches: [3] }, run({ crop: 32, wideShare: 0.5, widePitches: [3] }), files, () => {}),
    (e: { code?: string; message: string }) => e.code === 'SR_ERR_USAGE' && /smaller than the 32px crop/.test(e.message),
  );
  const out = path.join(root, 'run');
  await assert.rejects(
    openRun(
      { ...opts, out, wideShare: 0, widePitches: [1.5], preset: 'lite', scale: 8, steps: 1, resume: false } as TrainOptions,
      () => {},
    ),
    (e: { code?: string; message: string }) => e.code === 'SR_ERR_USAGE' && /--wide-share/.test(e.message),
  );
  await assert.rejects(fs.access(out), 'nothing written');
});

test('a new run without recipe flags records the default shares and pitches, and drops the pitches its images cannot fill', async () => {
  const out = path.join(root, 'defaults');
  const fresh = { ...opts, out, preset: 'lite', scale: 8, dpf: true, crop: 32, steps: 1, resume: false } as TrainOptions;
  const { options } = (await openRun(fresh, () => {})).state;
  assert.equal(options.boxShare, DEFAULT_RECIPE.boxShare);
  assert.equal(options.wideShare, DEFAULT_RECIPE.wideShare);
  assert.deepEqual(options.widePitches, DEFAULT_RECIPE.widePitches);
  const lines: string[] = [];
  const d = await loadTrainingData(fresh, options, files, (l) => lines.push(l));
  // 72x64 at pitch 3 is 24x21, under the 32px crop; at pitch 2 it is 36x32, which fits.
  assert.deepEqual(options.widePitches, [0.5, 0.75, 1.25, 1.5, 2]);
  assert.equal(d.wide?.images.length, 2 * 5);
  assert.ok(d.wide?.images.every((im) => im.width >= 32 && im.height >= 32));
  assert.ok(
    lines.some((l) => /pitch 3 dropped/.test(l)),
    lines.join('\n'),
  );
  // Pitches none of which fills the crop leave no wide crops at all; the pitch-1 images (72x64) fill 48px.
  const none = { ...options, crop: 48, widePitches: [2, 3] };
  const alone = await loadTrainingData({ ...fresh, crop: 48 }, none, files, () => {});
  assert.equal(alone.wide, undefined);
  assert.equal(none.wideShare, undefined);
  // A resumed run keeps the pitches it recorded: one its images cannot fill is an error, not a silent change.
  await assert.rejects(
    loadTrainingData({ ...fresh, resume: true }, { ...options, widePitches: [3] }, files, () => {}),
    (e: { code?: string }) => e.code === 'SR_ERR_USAGE',
  );
  // --wide-share 0 records no wide crops; a run that records no share (made before the option) draws none.
  const off = (await openRun({ ...fresh, out: path.join(root, 'off'), wideShare: 0 }, () => {})).state.options;
  assert.equal(off.wideShare, undefined);
  assert.equal(off.widePitches, undefined);
});
