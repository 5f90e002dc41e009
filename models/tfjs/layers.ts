// The building blocks shared by generator and discriminator in tfjs (NHWC): conv + per-pixel channel
// layer norm + LeakyReLU, and the fixed DPF filter bank as a convolution.
import * as tf from '@tensorflow/tfjs';
import { dpfBankHWIO } from '../dpf/dpf';
import { conv2dSame, conv2dSameConstant } from './conv';

export type Params = Map<string, tf.Tensor>;

export function param(p: Params, name: string): tf.Tensor {
  const t = p.get(name);
  if (!t) throw new Error(`missing parameter ${name}`);
  return t;
}

/**
 * Layer norm over the channels at each pixel (not over H x W x C as TF's layer_norm does): every pixel
 * is normalised on its own, so outputs do not depend on the size of the tile (models/README.md).
 */
export function pixelLayerNorm(h: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor4D {
  const { mean, variance } = tf.moments(h, 3, true);
  return h.sub(mean).div(variance.add(eps).sqrt()).mul(gamma).add(beta) as tf.Tensor4D;
}

/** conv3x3 ('same', zero padding) -> LN -> LeakyReLU, with parameters under `prefix`. */
export function convBlock(p: Params, prefix: string, h: tf.Tensor4D, eps: number, slope: number): tf.Tensor4D {
  const w = param(p, `${prefix}.w`) as tf.Tensor4D;
  const y = conv2dSame(h, w).add(param(p, `${prefix}.b`)) as tf.Tensor4D;
  const n = pixelLayerNorm(y, param(p, `${prefix}.ln.g`), param(p, `${prefix}.ln.b`), eps);
  return tf.leakyRelu(n, slope);
}

/** Convolution ('same', zero padding) with bias, of whatever kernel size the parameter holds. */
export function conv(p: Params, prefix: string, h: tf.Tensor4D): tf.Tensor4D {
  return conv2dSame(h, param(p, `${prefix}.w`) as tf.Tensor4D).add(param(p, `${prefix}.b`)) as tf.Tensor4D;
}

/** The 1x1 projections and mixers (a conv whose kernel is 1x1). */
export const conv1x1 = conv;

// The DPF kernels are constants: build each radius once and keep it outside any tidy scope.
const banks = new Map<string, tf.Tensor4D>();

/** The 12 fixed DPF kernels of a radius as a conv filter [2r+1, 2r+1, 1, 12]. */
export function dpfBank(radius: number): tf.Tensor4D {
  const key = `${tf.getBackend()}:${radius}`;
  let t = banks.get(key);
  if (!t || t.isDisposed) {
    const { shape, data } = dpfBankHWIO(radius);
    t = tf.keep(tf.tensor4d(data, shape));
    banks.set(key, t);
  }
  return t;
}

/** DPF responses of a 1-channel image batch [N,H,W,1] -> [N,H,W,12], zero padding. */
export function dpfResponses(img: tf.Tensor4D, radius: number): tf.Tensor4D {
  return conv2dSameConstant(img, dpfBank(radius));
}
