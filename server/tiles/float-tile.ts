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
