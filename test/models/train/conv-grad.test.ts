// The wasm backend's conv gradients are ours (models/tfjs/conv.ts): check them against a direct sum.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { conv2dSame, conv2dSameConstant } from '../../../models/tfjs/conv';
import { initTfjs } from '../../../models/tfjs/runtime';
import { mulberry32 } from '../../../models/params';

before(async () => {
  const rt = await initTfjs('wasm');
  assert.equal(rt.flavour, 'tfjs-wasm');
});

function rand(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

/** y = conv2d(x, w, 'same') and, for L = sum(y * r): dL/dx and dL/dw by direct sums over the definition. */
function reference(x: Float32Array, w: Float32Array, r: Float32Array, [n, h, wd, ci]: number[], [kh, kw, , co]: number[]) {
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const ph = (kh! - 1) / 2,
    pw = (kw! - 1) / 2;
  for (let b = 0; b < n!; b++)
    for (let y = 0; y < h!; y++)
      for (let xx = 0; xx < wd!; xx++)
        for (let o = 0; o < co!; o++) {
          const g = r[((b * h! + y) * wd! + xx) * co! + o]!;
          for (let i = 0; i < kh!; i++)
            for (let j = 0; j < kw!; j++) {
              const sy = y + i - ph,
                sx = xx + j - pw;
              if (sy < 0 || sx < 0 || sy >= h! || sx >= wd!) continue;
              for (let c = 0; c < ci!; c++) {
                const xi = ((b * h! + sy) * wd! + sx) * ci! + c;
                const wi = ((i * kw! + j) * ci! + c) * co! + o;
                dx[xi]! += g * w[wi]!;
                dw[wi]! += g * x[xi]!;
              }
            }
        }
  return { dx, dw };
}

/** Max abs difference relative to the largest reference value (sums of many float32 terms). */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0,
    s = 1e-12;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return m / s;
}

const cases: [[number, number, number, number], [number, number, number, number]][] = [
  [
    [2, 7, 5, 3],
    [3, 3, 3, 4],
  ],
  [
    [1, 6, 6, 4],
    [1, 1, 4, 2],
  ],
  [
    [1, 9, 8, 1],
    [5, 5, 1, 3],
  ],
  [
    [2, 32, 32, 32],
    [1, 1, 32, 1],
  ],
  [
    [2, 16, 16, 8],
    [3, 3, 8, 16],
  ],
];
for (const [xs, ws] of cases) {
  test(`conv2dSame gradients equal the direct sums (x ${xs.join('x')}, w ${ws.join('x')})`, () => {
    // The stock gradient needs Conv2DBackpropFilter, which wasm lacks: our path must be the one in use.
    assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined);
    const xd = rand(
        xs.reduce((a, b) => a * b),
        1,
      ),
      wd = rand(
        ws.reduce((a, b) => a * b),
        2,
      );
    const rd = rand(xs[0] * xs[1] * xs[2] * ws[3], 3);
    const x = tf.tensor4d(xd, [...xs]),
      w = tf.tensor4d(wd, [...ws]),
      r = tf.tensor4d(rd, [xs[0], xs[1], xs[2], ws[3]]);
    const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      conv2dSame(a as tf.Tensor4D, b as tf.Tensor4D)
        .mul(r)
        .sum(),
    )([x, w]);
    const ref = reference(xd, wd, rd, [...xs], [...ws]);
    assert.ok(maxDiff(gx!.dataSync(), ref.dx) < 1e-5, `dx off by ${maxDiff(gx!.dataSync(), ref.dx)}`);
    assert.ok(maxDiff(gw!.dataSync(), ref.dw) < 1e-5, `dw off by ${maxDiff(gw!.dataSync(), ref.dw)}`);
    // The constant-kernel variant (DPF responses in the loss) has the same input gradient.
    const gc = tf.grad((a: tf.Tensor) =>
      conv2dSameConstant(a as tf.Tensor4D, w)
        .mul(r)
        .sum(),
    )(x);
    assert.ok(maxDiff(gc.dataSync(), ref.dx) < 1e-5);
    // And the forward value is tf.conv2d's.
    assert.deepEqual(conv2dSame(x, w).dataSync(), tf.conv2d(x, w, 1, 'same').dataSync());
    tf.dispose([x, w, r, gx!, gw!, gc]);
  });
}
