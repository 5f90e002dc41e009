// Upsampling baselines, centre-aligned like the box-mean LR: output pixel i samples the input at
// (i + 0.5) / s - 0.5, so an LR pixel's value sits at the centre of the s x s block it averages.
//
// Bicubic is sharp's (libvips 'bicubic' interpolator = Catmull-Rom) for 8/16-bit images, and the same
// Catmull-Rom kernel through the resampler below for float32 ones. Two things measured on sharp 0.35 /
// libvips 8.18 shape how it is called:
//  - resize() upsizing ignores `kernel`: 'cubic', 'mitchell' and 'lanczos3' give identical pixels (libvips
//    upsizes with its bicubic interpolator whatever the kernel), and it samples at i / s - 0.5, half an
//    output pixel off centre. So we call affine() with the input offset that makes it centre-aligned, on
//    an edge-replicated copy (affine fills outside the image with black).
//  - no sharp call gives a true Lanczos upsample, so Lanczos-3 is the separable resampler below.
import sharp from 'sharp';
import { roundToDtype, type PixelDtype } from '../io/types';

/** A 1-D interpolation kernel and its support radius (in input pixels). */
export interface Kernel {
  radius: number;
  at(t: number): number;
}

function sinc(t: number): number {
  if (t === 0) return 1;
  const p = Math.PI * t;
  return Math.sin(p) / p;
}

/** Lanczos with a = 3: sinc(t) sinc(t / 3) for |t| < 3. */
export const LANCZOS3: Kernel = { radius: 3, at: (t) => (Math.abs(t) < 3 ? sinc(t) * sinc(t / 3) : 0) };

/** Keys' cubic convolution with a = -0.5 (Catmull-Rom): the kernel of MATLAB's and PIL's bicubic. */
export const CATMULL_ROM: Kernel = {
  radius: 2,
  at: (t) => {
    const x = Math.abs(t);
    if (x < 1) return 1.5 * x ** 3 - 2.5 * x ** 2 + 1;
    if (x < 2) return -0.5 * x ** 3 + 2.5 * x ** 2 - 4 * x + 2;
    return 0;
  },
};

/** One axis of a separable filter: for each output index, `n` input indices (clamped) and their weights. */
export interface Taps {
  index: Int32Array;
  weight: Float64Array;
  n: number;
}

/** Centre-aligned upsampling taps for each output index along one axis (edges replicated, weights normalised). */
function upsampleTaps(n: number, s: number, k: Kernel): Taps {
  const taps = 2 * k.radius;
  const index = new Int32Array(n * s * taps);
  const weight = new Float64Array(n * s * taps);
  for (let i = 0; i < n * s; i++) {
    const x = (i + 0.5) / s - 0.5;
    const j0 = Math.floor(x) - k.radius + 1;
    let sum = 0;
    for (let t = 0; t < taps; t++) {
      const j = j0 + t;
      const v = k.at(x - j);
      index[i * taps + t] = j < 0 ? 0 : j >= n ? n - 1 : j;
      weight[i * taps + t] = v;
      sum += v;
    }
    for (let t = 0; t < taps; t++) weight[i * taps + t]! /= sum;
  }
  return { index, weight, n: taps };
}

/**
 * Applies `tx` along rows, then `ty` along columns: a separable filter whose output size the taps decide
 * (upsampling here, the training degradation's blur and downsampling in models/degradation). Float64 in
 * between, float32 out, unrounded.
 */
export function separable(data: Float32Array, width: number, height: number, tx: Taps, ty: Taps): Float32Array {
  const W = tx.index.length / tx.n;
  const H = ty.index.length / ty.n;
  const tmp = new Float64Array(height * W);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let X = 0; X < W; X++) {
      let v = 0;
      for (let t = 0; t < tx.n; t++) v += tx.weight[X * tx.n + t]! * data[row + tx.index[X * tx.n + t]!]!;
      tmp[y * W + X] = v;
    }
  }
  const out = new Float32Array(W * H);
  for (let Y = 0; Y < H; Y++) {
    for (let t = 0; t < ty.n; t++) {
      const wt = ty.weight[Y * ty.n + t]!;
      const src = ty.index[Y * ty.n + t]! * W;
      for (let X = 0; X < W; X++) out[Y * W + X]! += wt * tmp[src + X]!;
    }
  }
  return out;
}

/**
 * Separable, centre-aligned upsampling by an integer factor with edge replication; float64 in between,
 * one rounding to `dtype` at the end (integer dtypes are also clipped to their range).
 */
export function upsample(data: Float32Array, width: number, height: number, s: number, kernel: Kernel, dtype: PixelDtype): Float32Array {
  if (!Number.isInteger(s) || s < 1) throw new RangeError(`upsampling factor must be a positive integer, got ${s}`);
  if (data.length !== width * height) throw new RangeError(`${data.length} values for a ${width}x${height} image`);
  return roundToDtype(separable(data, width, height, upsampleTaps(width, s, kernel), upsampleTaps(height, s, kernel)), dtype);
}

const PAD = 3; // LR pixels of replicated edge: covers Catmull-Rom's 2-pixel support with one to spare

/**
 * sharp's bicubic (libvips Catmull-Rom), centre-aligned, edges replicated, in `dtype` (rounded by libvips).
 * Integer images only: sharp casts raw float input through an integer colour space (measured).
 */
export async function sharpBicubic(
  data: Float32Array,
  width: number,
  height: number,
  s: number,
  dtype: 'uint8' | 'uint16',
): Promise<Float32Array> {
  if (data.length !== width * height) throw new RangeError(`${data.length} values for a ${width}x${height} image`);
  const pw = width + 2 * PAD;
  const ph = height + 2 * PAD;
  const padded = dtype === 'uint8' ? new Uint8Array(pw * ph) : new Uint16Array(pw * ph);
  for (let y = 0; y < ph; y++) {
    const sy = Math.min(height - 1, Math.max(0, y - PAD));
    for (let x = 0; x < pw; x++) padded[y * pw + x] = data[sy * width + Math.min(width - 1, Math.max(0, x - PAD))]!;
  }
  // affine maps input x to output X = s (x + idx); centre alignment needs x = (X + 0.5) / s - 0.5.
  const offset = 0.5 - 0.5 / s;
  let img = sharp(padded, { raw: { width: pw, height: ph, channels: 1 } }).affine(
    [
      [s, 0],
      [0, s],
    ],
    { interpolator: 'bicubic', idx: offset, idy: offset },
  );
  img = dtype === 'uint16' ? img.toColourspace('grey16').raw({ depth: 'ushort' }) : img.toColourspace('b-w').raw({ depth: 'uchar' });
  const { data: buf, info } = await img.toBuffer({ resolveWithObject: true });
  if (info.width !== pw * s || info.height !== ph * s || info.channels !== 1) {
    throw new Error(`sharp affine gave ${info.width}x${info.height}x${info.channels}, expected ${pw * s}x${ph * s}x1`);
  }
  const n = info.width * info.height;
  const all = dtype === 'uint16' ? new Uint16Array(buf.buffer, buf.byteOffset, n) : new Uint8Array(buf.buffer, buf.byteOffset, n);
  const W = width * s;
  const out = new Float32Array(W * height * s);
  for (let Y = 0; Y < height * s; Y++) {
    const from = (Y + PAD * s) * info.width + PAD * s;
    for (let X = 0; X < W; X++) out[Y * W + X] = all[from + X]!;
  }
  return out;
}
