// --loss-margin: the content loss leaves margin x 2^level pixels at each crop edge out, where the model sees
// the crop's zero padding instead of real neighbours. The DPF responses are taken on the whole crop first, so a
// pixel inside the margin still counts through its responses at kept pixels, and one deeper in does not count.
// The run records the margin (0 by default, as every run before the option), and a margin the crop cannot
// hold is a usage error before anything is written.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { parseConfig, PRESETS } from '../../../models/config';
import { writeImage } from '../../../models/io/write-image';
import { contentLoss } from '../../../models/tfjs/losses';
import { initTfjs } from '../../../models/tfjs/runtime';
import { LEGACY_RECIPE, recipeOf, type RunOptions } from '../../../models/train/run-options';
import { train, type TrainOptions } from '../../../models/train/trainer';
import { synthImage } from '../../helpers/image';
import { tempDir } from '../../helpers/shared';

const root = tempDir();
const data = path.join(root, 'train');

before(async () => {
  await initTfjs('wasm');
  await fs.mkdir(data, { recursive: true });
  for (const s of [1, 2]) {
    const px = Uint16Array.from(synthImage(72, 64, s), (v) => Math.round(v * 40));
    await writeImage(path.join(data, `img${s}.tif`), { width: 72, height: 64, dtype: 'uint16', data: px });
  }
});

const scalar = (t: tf.Tensor) => t.dataSync()[0]!;
const wave = (n: number, f: number) => Array.from({ length: n }, (_, i) => Math.sin(i * f) * 0.4 + 0.5);

test('without DPF, the margin loss is the plain L1 over the interior of each level', () => {
  const cfg = parseConfig({ ...PRESETS.lite(4), widths: [4, 4, 4], dpf: false });
  // 4x: LR 4x4, level 1 is 8x8 (margin 1 -> 2 px each edge), level 2 is 16x16 (4 px each edge).
  const hr = wave(256, 1.3);
  const y1 = wave(64, 0.7);
  const y2 = wave(256, 0.45);
  const t1 = Array.from({ length: 64 }, (_, i) => {
    const [r, c] = [Math.floor(i / 8), i % 8];
    return (hr[2 * r * 16 + 2 * c]! + hr[2 * r * 16 + 2 * c + 1]! + hr[(2 * r + 1) * 16 + 2 * c]! + hr[(2 * r + 1) * 16 + 2 * c + 1]!) / 4;
  });
  const interiorL1 = (y: number[], t: number[], side: number, m: number) => {
    let s = 0;
    let n = 0;
    for (let r = m; r < side - m; r++)
      for (let c = m; c < side - m; c++) {
        s += Math.abs(y[r * side + c]! - t[r * side + c]!);
        n++;
      }
    return s / n;
  };
  const want = interiorL1(y1, t1, 8, 2) + interiorL1(y2, hr, 16, 4);
  const outs = [tf.tensor4d(y1, [1, 8, 8, 1]), tf.tensor4d(y2, [1, 16, 16, 1])];
  const got = scalar(contentLoss(cfg, outs, tf.tensor4d(hr, [1, 16, 16, 1]), 0, 1));
  assert.ok(Math.abs(got - want) < 1e-6, `${got} vs ${want}`);
  // Margin 0 is the whole crop, as before the option.
  const whole = interiorL1(y1, t1, 8, 0) + interiorL1(y2, hr, 16, 0);
  assert.ok(Math.abs(scalar(contentLoss(cfg, outs, tf.tensor4d(hr, [1, 16, 16, 1]))) - whole) < 1e-6);
  // A margin that leaves nothing of a level is refused, not averaged over an empty tensor (NaN).
  assert.throws(() => contentLoss(cfg, outs, tf.tensor4d(hr, [1, 16, 16, 1]), 0, 2), /leaves nothing/);
});

test('with DPF, a pixel deeper in the margin than the DPF radius does not count; one within the radius does', () => {
  const cfg = parseConfig({ ...PRESETS.lite(2), widths: [4, 4] });
  // 2x: level 1 is 16x16, margin 2 LR px -> 4 px each edge; the 2x DPF radius is 1.
  const hr = tf.tensor4d(wave(256, 1.7), [1, 16, 16, 1]);
  const y = wave(256, 0.9);
  const loss = (img: number[]) => scalar(contentLoss(cfg, [tf.tensor4d(img, [1, 16, 16, 1])], hr, 1, 2));
  const at = (r: number, c: number) => {
    const z = [...y];
    z[r * 16 + c]! += 0.5;
    return loss(z);
  };
  const base = loss(y);
  assert.equal(at(2, 8), base, 'row 2: two rows from the first kept row (4), beyond the radius');
  assert.notEqual(at(3, 8), base, 'row 3: its DPF responses reach row 4');
  assert.notEqual(at(8, 8), base, 'an interior pixel counts');
  assert.notEqual(scalar(contentLoss(cfg, [tf.tensor4d(y, [1, 16, 16, 1])], hr, 1, 0)), base);
});

const base = (out: string, over: Partial<TrainOptions> = {}): TrainOptions => ({
  data,
  out: path.join(root, out),
  preset: 'lite',
  scale: 8,
  loss: 'content',
  dpf: true,
  alpha: 1,
  batch: 1,
  crop: 32,
  lr: 1e-3,
  seed: 5,
  stepsPerEpoch: 1,
  steps: 1,
  resume: false,
  workers: 1,
  prefer: 'wasm',
  log: () => {},
  ...over,
});

test('a run records its margin and trains on the interior loss; 0 by default and for runs before the option', async () => {
  const whole = await train(base('m0'));
  const inner = await train(base('m1', { lossMargin: 1 }));
  const recorded = async (out: string) =>
    JSON.parse(await fs.readFile(path.join(root, out, 'checkpoint', 'trainer-state.json'), 'utf8')).options;
  assert.equal((await recorded('m0')).lossMargin, 0);
  assert.equal((await recorded('m1')).lossMargin, 1);
  // Same seed, same crop and draw: only the loss's extent differs, and so does the step's content loss.
  const g = (r: typeof whole) => r.history[0]!.losses.g_content!;
  assert.ok(Number.isFinite(g(inner)) && g(inner) > 0);
  assert.notEqual(g(inner), g(whole));
  assert.equal(recipeOf({} as RunOptions).lossMargin, LEGACY_RECIPE.lossMargin);
  assert.equal(LEGACY_RECIPE.lossMargin, 0);
});

test('a margin the LR crop cannot hold is a usage error before anything is written', async () => {
  // 32px at 8x is a 4px LR crop: margin 2 leaves nothing.
  await assert.rejects(train(base('m2', { lossMargin: 2 })), (e: { code?: string; message: string }) => {
    return e.code === 'SR_ERR_USAGE' && /--loss-margin 2 leaves nothing of a 4px LR crop/.test(e.message);
  });
  await assert.rejects(fs.access(path.join(root, 'm2')));
});
