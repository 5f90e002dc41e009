// Percentile normalisation of the model's input and its inverse for the output: [low, high] <-> [0, 1].
import { DTYPE_MAX, type PixelDtype } from './types';

/** Scale of a range; a flat image (high <= low) gets scale 1 so it maps to 0 instead of NaN/Infinity. */
function span(low: number, high: number): number {
  return high > low ? high - low : 1;
}

/** (v - low) / (high - low), no clipping (the model sees values a little outside [0, 1]). New array. */
export function normalise(values: ArrayLike<number>, low: number, high: number): Float32Array {
  const out = new Float32Array(values.length);
  const s = 1 / span(low, high);
  for (let i = 0; i < values.length; i++) out[i] = (values[i]! - low) * s;
  return out;
}

/**
 * low + v (high - low), then into `dtype`: integers rounded and clipped to [0, max] (NaN -> 0);
 * float32 unclipped.
 */
export function denormalise(values: ArrayLike<number>, low: number, high: number, dtype: 'uint8'): Uint8Array;
export function denormalise(values: ArrayLike<number>, low: number, high: number, dtype: 'uint16'): Uint16Array;
export function denormalise(values: ArrayLike<number>, low: number, high: number, dtype: 'float32'): Float32Array;
export function denormalise(
  values: ArrayLike<number>,
  low: number,
  high: number,
  dtype: PixelDtype,
): Uint8Array | Uint16Array | Float32Array;
export function denormalise(
  values: ArrayLike<number>,
  low: number,
  high: number,
  dtype: PixelDtype,
): Uint8Array | Uint16Array | Float32Array {
  const s = span(low, high);
  const n = values.length;
  if (dtype === 'float32') {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = low + values[i]! * s;
    return out;
  }
  const max = DTYPE_MAX[dtype];
  const out = dtype === 'uint8' ? new Uint8Array(n) : new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const v = Math.round(low + values[i]! * s);
    out[i] = v > 0 ? (v < max ? v : max) : 0; // NaN fails v > 0: 0
  }
  return out;
}
