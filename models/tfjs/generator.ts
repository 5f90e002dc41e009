// The generator of record in tfjs (NHWC): DPF-enriched input, an input module, then one x2 cascaded
// refinement module per level, each projecting to an image. Spec: models/README.md.
import * as tf from '@tensorflow/tfjs';
import { levelCount, type ModelConfig } from '../config';
import type { Weights } from '../params';
import { conv, conv1x1, convBlock, dpfResponses, type Params } from './layers';

/** Uploads a weights map as tfjs tensors (the caller owns and disposes them). */
export function weightsToTensors(w: Weights): Params {
  const out: Params = new Map();
  for (const [name, t] of w) out.set(name, tf.tensor(t.data, t.shape));
  return out;
}

/**
 * Forward pass. `x`: normalised LR [N,H,W,1]. Returns every level's image [N, H*2^k, W*2^k, 1],
 * coarsest first. Does not tidy: wrap in tf.tidy (inference) or a gradient function (training).
 */
export function generatorForward(cfg: ModelConfig, p: Params, x: tf.Tensor4D): tf.Tensor4D[] {
  const { lnEpsilon: eps, leakySlope: slope } = cfg;
  let h: tf.Tensor4D = cfg.dpf ? tf.concat([x, dpfResponses(x, 1)], 3) : x;
  const outs: tf.Tensor4D[] = [];
  const [, H, W] = x.shape;
  for (let k = 0; k <= levelCount(cfg); k++) {
    if (k > 0) {
      // Asymmetric bilinear x2 (halfPixelCenters false): tfjs's resize gradient assumes it.
      h = tf.image.resizeBilinear(h, [h.shape[1] * 2, h.shape[2] * 2], false, false);
    }
    for (let j = 0; j < cfg.convsPerModule; j++) h = convBlock(p, `g.l${k}.c${j}`, h, eps, slope);
    if (k === 0 && cfg.body) h = bodyForward(cfg.body, p, h, slope);
    if (k > 0) {
      let y = conv1x1(p, `g.l${k}.proj`, h);
      if (cfg.skip === 'bilinear') {
        // Half-pixel alignment keeps the residual centred on the ground truth; no gradient needed here.
        y = y.add(tf.image.resizeBilinear(x, [H * 2 ** k, W * 2 ** k], false, true));
      }
      outs.push(y);
    }
  }
  return outs;
}

/**
 * The LR body (config.body): residual blocks 3x3 -> LReLU -> [1x1 -> LReLU] -> 3x3, each added to its input,
 * each followed (with `mlp`) by a residual 1x1 -> LReLU -> 1x1.
 */
function bodyForward(body: NonNullable<ModelConfig['body']>, p: Params, x: tf.Tensor4D, slope: number): tf.Tensor4D {
  let h = x;
  for (let b = 0; b < body.blocks; b++) {
    let t = tf.leakyRelu(conv(p, `g.body${b}.a`, h), slope);
    if (body.mixer) t = tf.leakyRelu(conv1x1(p, `g.body${b}.m`, t), slope);
    h = h.add(conv(p, `g.body${b}.z`, t));
    if (body.mlp) h = h.add(conv1x1(p, `g.body${b}.f`, tf.leakyRelu(conv1x1(p, `g.body${b}.e`, h), slope)));
  }
  return h;
}
