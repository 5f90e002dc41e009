// The model's convolutions with gradients that run well on every tfjs backend. Stride 1, 'same' zero
// padding, odd kernels, HWIO. The wasm backend has no Conv2DBackpropFilter kernel at all, and its
// Conv2DBackpropInput is ~10x slower than a forward conv (784 vs 82 ms on a 256x256x48->32 layer), so
// there both gradients are expressed as forward convolutions (measured: .scratch notes in the model card).
// Backends with a native filter gradient (tfjs-node) keep tfjs's own.
import * as tf from '@tensorflow/tfjs';

function hasFilterGradient(): boolean {
  return tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) !== undefined;
}

/**
 * dL/dx for y = conv2d(x, w, 'same'): the 'same' convolution of dy with the kernel rotated by 180° and
 * its in/out channels swapped.
 */
export function convInputGradient(dy: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.conv2d(dy, tf.reverse(w, [0, 1]).transpose([0, 1, 3, 2]) as tf.Tensor4D, 1, 'same'));
}

/**
 * dL/dw for y = conv2d(x, w, 'same'): dW[i,j,ci,co] = sum over n,h,w of xpad[n,h+i,w+j,ci] dy[n,h,w,co].
 * That is itself a 'valid' convolution, with the input channels as the batch, the batch as channels and
 * dy as a kernel the size of the image: 171 ms on the layer above, against 880 ms as 9 matrix products.
 */
export function convFilterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number): tf.Tensor4D {
  return tf.tidy(() => {
    const ph = (kh - 1) / 2;
    const pw = (kw - 1) / 2;
    const xp =
      ph || pw
        ? tf.pad(x, [
            [0, 0],
            [ph, ph],
            [pw, pw],
            [0, 0],
          ])
        : x;
    const input = xp.transpose([3, 1, 2, 0]) as tf.Tensor4D; // [Cin, H+kh-1, W+kw-1, N]
    const kernel = dy.transpose([1, 2, 0, 3]) as tf.Tensor4D; // [H, W, N, Cout]
    return tf.conv2d(input, kernel, 1, 'valid').transpose([1, 2, 0, 3]) as tf.Tensor4D; // [kh, kw, Cin, Cout]
  });
}

const customConv = tf.customGrad((x, w, save) => {
  const xt = x as tf.Tensor4D;
  const wt = w as tf.Tensor4D;
  (save as tf.GradSaveFunc)([xt, wt]);
  return {
    value: tf.conv2d(xt, wt, 1, 'same'),
    gradFunc: (dy, saved) => {
      const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
      const d = dy as tf.Tensor4D;
      return [convInputGradient(d, ws), convFilterGradient(xs, d, ws.shape[0], ws.shape[1])];
    },
  };
});

/** conv2d, stride 1, 'same' padding, differentiable in x and w on every backend. */
export function conv2dSame(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  return hasFilterGradient() ? tf.conv2d(x, w, 1, 'same') : (customConv(x, w) as tf.Tensor4D);
}

/**
 * conv2d 'same' with a constant kernel (the DPF bank): differentiable in x only, so no filter gradient
 * is ever computed for it.
 */
export function conv2dSameConstant(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  if (hasFilterGradient()) return tf.conv2d(x, w, 1, 'same');
  const f = tf.customGrad((xi, save) => {
    (save as tf.GradSaveFunc)([]);
    return { value: tf.conv2d(xi as tf.Tensor4D, w, 1, 'same'), gradFunc: (dy) => convInputGradient(dy as tf.Tensor4D, w) };
  });
  return f(x) as tf.Tensor4D;
}
