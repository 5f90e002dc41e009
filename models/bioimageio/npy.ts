// NumPy .npy files (format 1.0, little-endian float32, C order): the test tensors of a bioimage.io package.
// The format is a magic string, a Python-literal header padded to 64 bytes, then the raw array.

const MAGIC = new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]); // \x93NUMPY v1.0

export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

export function encodeNpy(a: NpyArray): Uint8Array {
  if (a.shape.reduce((x, y) => x * y, 1) !== a.data.length)
    throw new RangeError(`shape [${a.shape}] does not hold ${a.data.length} values`);
  const shape = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  const pad = 64 - ((MAGIC.length + 2 + header.length + 1) % 64);
  header += `${' '.repeat(pad % 64)}\n`;
  const out = new Uint8Array(MAGIC.length + 2 + header.length + a.data.byteLength);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint16(MAGIC.length, header.length, true);
  out.set(new TextEncoder().encode(header), MAGIC.length + 2);
  out.set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), MAGIC.length + 2 + header.length);
  return out;
}

/** Reads a float32 little-endian C-order .npy (what encodeNpy writes); anything else throws. */
export function decodeNpy(bytes: Uint8Array): NpyArray {
  if (!MAGIC.slice(0, 6).every((b, i) => bytes[i] === b)) throw new Error('not a .npy file');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [len, start] = major === 1 ? [view.getUint16(8, true), 10] : [view.getUint32(8, true), 12];
  const header = new TextDecoder().decode(bytes.subarray(start, start + len));
  if (!/'descr':\s*'<f4'/.test(header) || !/'fortran_order':\s*False/.test(header))
    throw new Error(`unsupported .npy header ${header.trim()}`);
  const shape = /'shape':\s*\(([^)]*)\)/
    .exec(header)![1]!
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const n = shape.reduce((x, y) => x * y, 1);
  const data = new Float32Array(n);
  new Uint8Array(data.buffer).set(bytes.subarray(start + len, start + len + n * 4));
  return { shape, data };
}
