// The image operations that make an LR image from an HR one: Gaussian blur and separable downsampling with
// a box, triangle ("bilinear") or Keys cubic ("bicubic") kernel, every LR pixel centred on the middle of its
// f x f block of HR pixels, as the box mean is. Edges are replicated. Plain loops over Float32Array: they
// run on training crops (128^2) and evaluation images (1024^2), where they cost milliseconds. The filter
// application and the Catmull-Rom kernel are the evaluation's (models/eval/resample.ts).

import { CATMULL_ROM, LANCZOS3, separable, type Taps } from '../eval/resample';

export type DownKernel = 'box' | 'bilinear' | 'bicubic' | 'centre';

/**
 * Weights that take `size` input samples to floor(size / f) outputs. Output i is centred at input
 * coordinate i*f + (f-1)/2. Antialiased kernels are stretched by f (PIL's and libvips' reduce):
 * 'box' = the f x f mean, 'bilinear' = triangle of half-width f, 'bicubic' = Keys of half-width 2f,
 * 'centre' = the sample at the centre (the mean of the two middle samples when f is even): no area.
 */
function downTaps(size: number, f: number, kernel: DownKernel): Taps {
  const out = Math.floor(size / f);
  const half = kernel === 'box' ? f / 2 : kernel === 'bilinear' ? f : kernel === 'bicubic' ? 2 * f : 1;
  const n = Math.ceil(2 * half) + 1;
  const index = new Int32Array(out * n);
  const weight = new Float64Array(out * n);
  for (let i = 0; i < out; i++) {
    const c = i * f + (f - 1) / 2;
    const first = Math.floor(c - half);
    let sum = 0;
    for (let t = 0; t < n; t++) {
      const x = first + t;
      const d = x - c;
      let w: number;
      if (kernel === 'box') w = x >= i * f && x < (i + 1) * f ? 1 : 0;
      else if (kernel === 'bilinear') w = Math.max(0, 1 - Math.abs(d) / f);
      else if (kernel === 'bicubic') w = CATMULL_ROM.at(d / f);
      else w = Math.abs(d) <= 0.5 ? 1 : 0;
      index[i * n + t] = Math.min(size - 1, Math.max(0, x));
      weight[i * n + t] = w;
      sum += w;
    }
    for (let t = 0; t < n; t++) weight[i * n + t]! /= sum;
  }
  return { index, weight, n };
}

/** Taps of a normalised Gaussian of std `sigma` (same size out as in), truncated at 3 sigma. */
function gaussTaps(size: number, sigma: number): Taps {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const n = 2 * r + 1;
  const k = new Float32Array(n);
  let sum = 0;
  for (let t = 0; t < n; t++) sum += k[t] = Math.exp(-((t - r) ** 2) / (2 * sigma * sigma));
  const index = new Int32Array(size * n);
  const weight = new Float64Array(size * n);
  for (let i = 0; i < size; i++) {
    for (let t = 0; t < n; t++) {
      index[i * n + t] = Math.min(size - 1, Math.max(0, i + t - r));
      weight[i * n + t] = k[t]! / sum;
    }
  }
  return { index, weight, n };
}

/** Gaussian blur of std `sigma` pixels (sigma 0: a copy). */
export function gaussianBlur(data: Float32Array, width: number, height: number, sigma: number): Float32Array {
  if (sigma <= 0) return data.slice();
  return separable(data, width, height, gaussTaps(width, sigma), gaussTaps(height, sigma));
}

/** Downsamples by the integer factor f with `kernel`: floor(width/f) x floor(height/f) values. */
export function downsample(data: Float32Array, width: number, height: number, f: number, kernel: DownKernel): Float32Array {
  if (!Number.isInteger(f) || f < 1) throw new RangeError(`downsampling factor must be a positive integer, got ${f}`);
  if (data.length !== width * height) throw new RangeError(`${data.length} values for a ${width}x${height} image`);
  return separable(data, width, height, downTaps(width, f, kernel), downTaps(height, f, kernel));
}

/**
 * Area taps for a real pitch p >= 1: output j integrates input [j*p, (j+1)*p) exactly, each input pixel
 * weighted by its overlap. This is what a camera with p times wider pixels records of the same field.
 */
function areaTaps(size: number, p: number): Taps {
  const out = Math.floor(size / p);
  // a fractional start can straddle ceil(p) + 1 pixels; an integer pitch starts on a pixel edge and spans exactly p
  const n = Number.isInteger(p) ? p : Math.ceil(p) + 1;
  const index = new Int32Array(out * n);
  const weight = new Float64Array(out * n);
  for (let j = 0; j < out; j++) {
    const a = j * p,
      b = a + p;
    for (let k = 0; k < n; k++) {
      const i = Math.min(Math.floor(a) + k, size - 1);
      index[j * n + k] = i;
      weight[j * n + k] = Math.floor(a) + k < size ? Math.max(0, Math.min(b, i + 1) - Math.max(a, i)) / p : 0;
    }
  }
  return { index, weight, n };
}

/**
 * The field recorded with pixels `pitch` times as wide (area mean over pitch x pitch, pitch >= 1 and not
 * necessarily an integer): floor(width/pitch) x floor(height/pitch) values. An integer pitch is exactly
 * downsample(..., 'box') of the top-left crop.
 */
export function areaResample(
  data: Float32Array,
  width: number,
  height: number,
  pitch: number,
): { data: Float32Array; width: number; height: number } {
  if (!(pitch >= 1) || !Number.isFinite(pitch)) throw new RangeError(`pixel pitch must be a number >= 1, got ${pitch}`);
  if (data.length !== width * height) throw new RangeError(`${data.length} values for a ${width}x${height} image`);
  const w = Math.floor(width / pitch),
    h = Math.floor(height / pitch);
  return { data: separable(data, width, height, areaTaps(width, pitch), areaTaps(height, pitch)), width: w, height: h };
}

/** Lanczos-3 taps that take `size` samples to floor(size / p) samples centred p apart (p < 1: a finer grid). */
function finerTaps(size: number, p: number): Taps {
  const out = Math.floor(size / p);
  const r = LANCZOS3.radius,
    n = 2 * r;
  const index = new Int32Array(out * n);
  const weight = new Float64Array(out * n);
  for (let j = 0; j < out; j++) {
    const x = (j + 0.5) * p - 0.5;
    const i0 = Math.floor(x) - r + 1;
    let sum = 0;
    for (let k = 0; k < n; k++) {
      const i = i0 + k;
      index[j * n + k] = i < 0 ? 0 : i >= size ? size - 1 : i;
      sum += weight[j * n + k] = LANCZOS3.at(x - i);
    }
    for (let k = 0; k < n; k++) weight[j * n + k]! /= sum;
  }
  return { index, weight, n };
}

/** The narrowest pixel pitch a recording is resampled to (half the pixels: a 2x higher magnification). */
export const MIN_PITCH = 0.5;

/**
 * The field recorded by a camera whose pixels are `pitch` times as wide: pitch >= 1 is areaResample. A pitch
 * below 1 (a higher magnification onto the same camera) interpolates the recording with Lanczos-3: the
 * objective band-limits the field, so its finer samples follow from the recorded ones, and cells come out
 * larger and smoother in pixels than anything recorded at pitch 1.
 */
export function pitchResample(
  data: Float32Array,
  width: number,
  height: number,
  pitch: number,
): { data: Float32Array; width: number; height: number } {
  if (pitch >= 1) return areaResample(data, width, height, pitch);
  if (!(pitch >= MIN_PITCH)) throw new RangeError(`pixel pitch must be a number >= ${MIN_PITCH}, got ${pitch}`);
  if (data.length !== width * height) throw new RangeError(`${data.length} values for a ${width}x${height} image`);
  const w = Math.floor(width / pitch),
    h = Math.floor(height / pitch);
  return { data: separable(data, width, height, finerTaps(width, pitch), finerTaps(height, pitch)), width: w, height: h };
}
