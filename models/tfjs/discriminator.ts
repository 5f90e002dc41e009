// The discriminator in tfjs: 4 downsampling modules [conv3x3, LN, LReLU, 2x2 max-pool], then a 1x1 conv
// to a map of patch logits.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config';
import { conv1x1, convBlock, type Params } from './layers';

/**
 * 2x2 max-pool, stride 2 ('valid': an odd last row/column is dropped), written as a reshape and a max.
 * Not tf.maxPool: tfjs-backend-wasm 4.22's MaxPoolGrad kernel routes gradients to the wrong pixels on
 * real feature maps (test/models/train/max-pool.test.ts), and Max's gradient is built from plain ops.
 */
export function maxPool2x2(h: tf.Tensor4D): tf.Tensor4D {
  const [n, H, W, c] = h.shape;
  const h2 = Math.floor(H / 2),
    w2 = Math.floor(W / 2);
  const even = H % 2 || W % 2 ? tf.slice(h, [0, 0, 0, 0], [n, h2 * 2, w2 * 2, c]) : h;
  return even.reshape([n, h2, 2, w2, 2, c]).max([2, 4]) as tf.Tensor4D;
}

/** Patch logits [N, H/16, W/16, 1] for images [N,H,W,1]. */
export function discriminatorForward(cfg: ModelConfig, p: Params, img: tf.Tensor4D): tf.Tensor4D {
  let h = img;
  for (let j = 0; j < cfg.discWidths.length; j++) {
    h = convBlock(p, `d.c${j}`, h, cfg.lnEpsilon, cfg.leakySlope);
    h = maxPool2x2(h);
  }
  return conv1x1(p, 'd.out', h);
}
