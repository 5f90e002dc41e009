// Losses against values computed by hand (a direct convolution written here, independent of tfjs).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { parseConfig, PRESETS } from '../../models/config';
import { dpfKernel } from '../../models/dpf/dpf';
import { areaDownsample, contentLoss, discriminatorLoss, generatorAdversarialLoss, generatorLoss } from '../../models/tfjs/losses';
import { initTfjs } from '../../models/tfjs/runtime';

before(async () => {
  await initTfjs('wasm');
});

const scalar = (t: tf.Tensor) => t.dataSync()[0]!;

/** Zero-padded 'same' convolution of an h x w image with a (2r+1)^2 symmetric kernel. */
function conv(img: number[], h: number, w: number, k: Float64Array, r: number): number[] {
  const n = 2 * r + 1;
  const out: number[] = [];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let dy = -r; dy <= r; dy++)
        for (let dx = -r; dx <= r; dx++) {
          const yy = y + dy,
            xx = x + dx;
          if (yy >= 0 && yy < h && xx >= 0 && xx < w) s += img[yy * w + xx]! * k[(dy + r) * n + dx + r]!;
        }
      out.push(s);
    }
  return out;
}

test('area downsampling is the block mean', () => {
  const t = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 4, 4, 1]);
  assert.deepEqual([...areaDownsample(t, 2).dataSync()], [3.5, 5.5, 11.5, 13.5]);
});

test('DPF content loss equals the mean absolute difference of hand-computed DPF responses', () => {
  const cfg = parseConfig({ ...PRESETS.lite(2), widths: [4, 4] });
  const hr = Array.from({ length: 36 }, (_, i) => Math.sin(i * 1.7) * 0.5 + 0.5);
  const y = Array.from({ length: 36 }, (_, i) => Math.cos(i * 0.9) * 0.3 + 0.4);
  const got = scalar(contentLoss(cfg, [tf.tensor4d(y, [1, 6, 6, 1])], tf.tensor4d(hr, [1, 6, 6, 1])));
  let sum = 0;
  for (let m = 1; m <= 12; m++) {
    const k = dpfKernel(m, 1); // level 1 (2x) uses radius 1
    const a = conv(y, 6, 6, k, 1),
      b = conv(hr, 6, 6, k, 1);
    for (let i = 0; i < 36; i++) sum += Math.abs(a[i]! - b[i]!);
  }
  assert.ok(Math.abs(got - sum / (36 * 12)) < 1e-5, `${got} vs ${sum / 432}`);
  // Identical images: zero loss.
  assert.equal(scalar(contentLoss(cfg, [tf.tensor4d(hr, [1, 6, 6, 1])], tf.tensor4d(hr, [1, 6, 6, 1]))), 0);
});

test('content loss sums over levels against area-downsampled targets; without DPF it is plain L1', () => {
  const cfg = parseConfig({ ...PRESETS.lite(4), widths: [4, 4, 4], dpf: false });
  const hr = tf.fill([1, 8, 8, 1], 0.5) as tf.Tensor4D;
  const y1 = tf.fill([1, 4, 4, 1], 0.75) as tf.Tensor4D; // |0.75 - 0.5| = 0.25
  const y2 = tf.fill([1, 8, 8, 1], 0.4) as tf.Tensor4D; // 0.1
  assert.ok(Math.abs(scalar(contentLoss(cfg, [y1, y2], hr)) - 0.35) < 1e-6);
  // With DPF, level 2 (4x) uses radius 2: a constant offset c gives |c * sum of kernel| in the interior.
  const dcfg = parseConfig({ ...cfg, dpf: true });
  const big = tf.fill([1, 16, 16, 1], 0.5) as tf.Tensor4D;
  const loss = scalar(contentLoss(dcfg, [tf.fill([1, 8, 8, 1], 0.5) as tf.Tensor4D, tf.fill([1, 16, 16, 1], 0.5) as tf.Tensor4D], big));
  assert.equal(loss, 0);
  assert.throws(() => contentLoss(cfg, [y1], hr));
});

test('adversarial losses are the non-saturating softplus forms', () => {
  const ln2 = Math.log(2);
  assert.ok(Math.abs(scalar(generatorAdversarialLoss(tf.zeros([1, 2, 2, 1]))) - ln2) < 1e-6);
  assert.ok(Math.abs(scalar(discriminatorLoss(tf.zeros([1, 2, 2, 1]), tf.zeros([1, 2, 2, 1]))) - 2 * ln2) < 1e-6);
  // A confident, correct discriminator has ~0 loss; the generator's loss is then large (not saturated).
  assert.ok(scalar(discriminatorLoss(tf.fill([1, 1, 1, 1], 20), tf.fill([1, 1, 1, 1], -20))) < 1e-6);
  assert.ok(Math.abs(scalar(generatorAdversarialLoss(tf.fill([1, 1, 1, 1], -20))) - 20) < 1e-5);
  assert.ok(Math.abs(scalar(generatorLoss(tf.scalar(0.5), tf.scalar(2), 1)) - 2.5) < 1e-7);
  assert.ok(Math.abs(scalar(generatorLoss(tf.scalar(0.5), tf.scalar(2), 0.1)) - 0.7) < 1e-7);
});
