// A tile before encoding: normalised float32 (0..1 spans the image's low..high percentiles).
export interface FloatTile {
  width: number;
  height: number;
  data: Float32Array;
}

/** An encoded tile, ready for a frame or an HTTP body. */
export interface EncodedTile {
  width: number;
  height: number;
  payload: Uint8Array;
}

/** Copies a w x h rectangle at (x, y) out of a row-major image `srcW` wide, at item offset `base`. */
export function crop(src: Float32Array, srcW: number, base: number, x: number, y: number, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  for (let r = 0; r < h; r++) {
    const from = base + (y + r) * srcW + x;
    out.set(src.subarray(from, from + w), r * w);
  }
  return out;
}
