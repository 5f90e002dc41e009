// The discriminator's 2x2 max-pool: same values as tf.maxPool, and a gradient that goes to each window's
// maximum. (tfjs-backend-wasm 4.22's own MaxPoolGrad misroutes gradients on real feature maps; batch-2
// and batch-1 runs disagreed, which is how it was found.)
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { PRESETS } from '../../../models/config';
import { discriminatorParams, initWeights } from '../../../models/params';
import { maxPool2x2 } from '../../../models/tfjs/discriminator';
import { weightsToTensors } from '../../../models/tfjs/generator';
import { convBlock } from '../../../models/tfjs/layers';
import { initTfjs } from '../../../models/tfjs/runtime';
import { synthImage } from '../../helpers/image';

before(async () => {
  await initTfjs('wasm');
});

test("maxPool2x2 equals tf.maxPool and its gradient reaches exactly each window's maximum", () => {
  const cfg = PRESETS.lite(8);
  const p = weightsToTensors(initWeights(discriminatorParams(cfg), 3));
  const img = tf.tensor4d(
    Float32Array.from(synthImage(34, 30, 4), (v) => v / 1000),
    [1, 30, 34, 1],
  );
  // A real feature map (conv + LN + LeakyReLU), 2 images, odd-free and odd sizes.
  const x = convBlock(p, 'd.c0', tf.concat([img, img.reverse(2)]) as tf.Tensor4D, cfg.lnEpsilon, cfg.leakySlope);
  for (const t of [x, x.slice([0, 0, 0, 0], [2, 29, 33, 32])] as tf.Tensor4D[]) {
    assert.deepEqual(maxPool2x2(t).dataSync(), tf.maxPool(t, 2, 2, 'valid').dataSync());
    const [n, H, W, C] = t.shape;
    const r = tf.randomNormal([n, H >> 1, W >> 1, C], 0, 1, 'float32', 7);
    const g = tf
      .grad((a: tf.Tensor) =>
        maxPool2x2(a as tf.Tensor4D)
          .mul(r)
          .sum(),
      )(t)
      .dataSync();
    const v = t.dataSync(),
      rv = r.dataSync();
    const want = new Float32Array(v.length);
    for (let b = 0; b < n; b++)
      for (let i = 0; i + 1 < H; i += 2)
        for (let j = 0; j + 1 < W; j += 2)
          for (let c = 0; c < C; c++) {
            let best = -Infinity,
              at = -1;
            for (let k = 0; k < 4; k++) {
              const idx = ((b * H + i + (k >> 1)) * W + j + (k & 1)) * C + c;
              if (v[idx]! > best) {
                best = v[idx]!;
                at = idx;
              }
            }
            want[at] = rv[((b * (H >> 1) + i / 2) * (W >> 1) + j / 2) * C + c]!;
          }
    const wrong = want.reduce((k, w0, i) => k + (g[i] !== w0 ? 1 : 0), 0); // -0 === 0
    assert.equal(wrong, 0, `${wrong} gradient values misrouted`);
  }
});
