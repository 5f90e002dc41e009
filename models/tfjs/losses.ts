// Training losses of record: DPF content loss at every level, non-saturating adversarial loss, and
// their sum (adversarial + alpha * content).
import * as tf from '@tensorflow/tfjs';
import { levelCount, type ModelConfig } from '../config';
import { dpfRadiusForLevel } from '../dpf/dpf';
import { dpfResponses } from './layers';

/** Area (box) downsampling by an integer factor: the mean of each f x f block. */
export function areaDownsample(img: tf.Tensor4D, f: number): tf.Tensor4D {
  return f === 1 ? img : tf.avgPool(img, f, f, 'valid');
}

/**
 * Content loss summed over levels. `outputs`: the generator's levels (coarsest first); `hr`: the
 * ground truth at the finest level, area-downsampled to each level's size. With DPF on, the L1 is taken
 * between the 12 DPF responses (radius per level); with DPF off (the single-image ablation), between
 * the images themselves. `pixelL1` > 0 adds that weight of the plain pixel L1 at every level.
 * `margin` > 0 leaves that many LR pixels (margin x 2^level at each level) at every crop edge out of the
 * loss: there the model sees the zero padding of the crop, which it never sees inside a served tile (the
 * tiler gives every tile a halo of real pixels).
 */
export function contentLoss(cfg: ModelConfig, outputs: tf.Tensor4D[], hr: tf.Tensor4D, pixelL1 = 0, margin = 0): tf.Scalar {
  const n = levelCount(cfg);
  if (outputs.length !== n) throw new Error(`expected ${n} levels, got ${outputs.length}`);
  let total = tf.scalar(0);
  outputs.forEach((y, i) => {
    const level = i + 1;
    const m = margin * 2 ** level;
    const t = areaDownsample(hr, 2 ** (n - level));
    // The DPF responses are taken on the whole crop and trimmed after, so the kept pixels' responses see real neighbours.
    const diff: tf.Tensor4D = cfg.dpf ? dpfResponses(y, dpfRadiusForLevel(level)).sub(dpfResponses(t, dpfRadiusForLevel(level))) : y.sub(t);
    total = total.add(trimEdges(diff, m).abs().mean());
    // The pixel L1 ties each level to the intensities (the DPF responses are blind to a constant offset).
    if (pixelL1 > 0 && cfg.dpf) total = total.add(trimEdges(y.sub(t), m).abs().mean().mul(pixelL1));
  });
  return total;
}

/** The NHWC tensor without `m` pixels at each edge. */
function trimEdges(x: tf.Tensor4D, m: number): tf.Tensor4D {
  if (m === 0) return x;
  const [, h, w] = x.shape;
  if (2 * m >= h || 2 * m >= w) throw new Error(`a loss margin of ${m} pixels leaves nothing of a ${w}x${h} level`);
  return x.slice([0, m, m, 0], [-1, h - 2 * m, w - 2 * m, -1]);
}

/** Non-saturating generator loss: mean softplus(-D(fake)). */
export function generatorAdversarialLoss(dFake: tf.Tensor): tf.Scalar {
  return tf.softplus(dFake.neg()).mean();
}

/** Discriminator loss: mean softplus(-D(real)) + mean softplus(D(fake)). */
export function discriminatorLoss(dReal: tf.Tensor, dFake: tf.Tensor): tf.Scalar {
  return tf.softplus(dReal.neg()).mean().add(tf.softplus(dFake).mean());
}

/** Generator objective: adversarial + alpha * content (alpha = 1 in the paper). */
export function generatorLoss(adversarial: tf.Scalar, content: tf.Scalar, alpha = 1): tf.Scalar {
  return adversarial.add(content.mul(alpha));
}
