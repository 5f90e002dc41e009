// The discriminator in tfjs: 4 downsampling modules [conv3x3, LN, LReLU, 2x2 max-pool], then a 1x1 conv
// to a map of patch logits.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config';
import { conv1x1, convBlock, type Params } from './layers';

/** Patch logits [N, H/16, W/16, 1] for images [N,H,W,1]. */
export function discriminatorForward(cfg: ModelConfig, p: Params, img: tf.Tensor4D): tf.Tensor4D {
  let h = img;
  for (let j = 0; j < cfg.discWidths.length; j++) {
    h = convBlock(p, `d.c${j}`, h, cfg.lnEpsilon, cfg.leakySlope);
    h = tf.maxPool(h, 2, 2, 'valid');
  }
  return conv1x1(p, 'd.out', h);
}
