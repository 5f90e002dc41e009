// Shared types of the image I/O layer: sample types and physical pixel size.

/** Sample type of a single-channel image. */
export type PixelDtype = 'uint8' | 'uint16' | 'float32';

/** Typed array holding samples of each {@link PixelDtype}. */
export interface DtypeArray {
  uint8: Uint8Array;
  uint16: Uint16Array;
  float32: Float32Array;
}

/** Any of the sample arrays. */
export type PixelArray = DtypeArray[PixelDtype];

/** Physical size of one pixel. `unit` is 'µm' for micron/um/µm spellings, else as the file gave it. */
export interface PixelSize {
  x: number;
  y: number;
  unit: string;
}

/** Bytes per sample of each dtype. */
export const DTYPE_BYTES: Record<PixelDtype, number> = { uint8: 1, uint16: 2, float32: 4 };

/** Largest value of each integer dtype (float32: none). */
export const DTYPE_MAX: Record<PixelDtype, number> = { uint8: 255, uint16: 65535, float32: Infinity };

/** Rounds and clips to an integer dtype's range in place (NaN -> 0); float32 values are left as they are. */
export function roundToDtype(values: Float32Array, dtype: PixelDtype): Float32Array {
  if (dtype === 'float32') return values;
  const max = DTYPE_MAX[dtype];
  for (let i = 0; i < values.length; i++) {
    const v = Math.round(values[i]!);
    values[i] = v > 0 ? (v < max ? v : max) : 0;
  }
  return values;
}
