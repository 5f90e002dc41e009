// The byte filters of the compressed raw tile encodings (u16z, f32z): samples are split into byte planes (all
// low bytes, then all high bytes, so the noisy low bits no longer interleave with the smooth high ones), and
// u16 samples are first replaced by their difference to the left neighbour (mod 2^16) along each row. Zlib
// deflate comes after, on the server (node:zlib); the browser undoes it with DecompressionStream('deflate').
// Pure code: no Node-only imports. Little-endian byte order, as every raw encoding.

/** u16 samples of a `width`-wide tile -> filtered bytes (2 per sample). */
export function filterU16(data: Uint16Array, width: number): Uint8Array<ArrayBuffer> {
  const n = data.length;
  const out = new Uint8Array(2 * n);
  for (let i = 0; i < n; i++) {
    const d = (data[i]! - (i % width === 0 ? 0 : data[i - 1]!)) & 0xffff;
    out[i] = d & 0xff;
    out[n + i] = d >> 8;
  }
  return out;
}

/** The inverse of {@link filterU16}. */
export function unfilterU16(bytes: Uint8Array, width: number): Uint16Array<ArrayBuffer> {
  const n = bytes.length >> 1;
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const d = bytes[i]! | (bytes[n + i]! << 8);
    out[i] = i % width === 0 ? d : (out[i - 1]! + d) & 0xffff;
  }
  return out;
}

/** f32 samples -> their 4 byte planes (no delta: differences of floats do not compress). */
export function filterF32(data: Float32Array): Uint8Array<ArrayBuffer> {
  const n = data.length;
  const b = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(4 * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < 4; k++) out[k * n + i] = b[4 * i + k]!;
  return out;
}

/** The inverse of {@link filterF32}. */
export function unfilterF32(bytes: Uint8Array): Float32Array<ArrayBuffer> {
  const n = bytes.length >> 2;
  const out = new Float32Array(n);
  const b = new Uint8Array(out.buffer);
  for (let i = 0; i < n; i++) for (let k = 0; k < 4; k++) b[4 * i + k] = bytes[k * n + i]!;
  return out;
}
