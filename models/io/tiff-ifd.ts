// Encoding of one little-endian TIFF/BigTIFF image file directory (IFD), and rationals for resolutions.
// Split from tiff-writer.ts to keep the streaming logic readable.

/** Best rational approximation num/den of v with both in uint32 (continued fractions). */
export function toRational(v: number): [number, number] {
  if (!(v > 0) || !Number.isFinite(v)) return [0, 1];
  const MAX = 0xffffffff;
  let [h0, h1, k0, k1] = [0, 1, 1, 0];
  let x = v;
  for (let i = 0; i < 64; i++) {
    const a = Math.floor(x);
    const h2 = a * h1 + h0;
    const k2 = a * k1 + k0;
    if (h2 > MAX || k2 > MAX) break;
    [h0, h1, k0, k1] = [h1, h2, k1, k2];
    if (x - a < 1e-15 || Math.abs(h1 / k1 - v) <= v * 1e-16) break;
    x = 1 / (x - a);
  }
  return k1 === 0 ? [Math.min(MAX, Math.round(v)), 1] : [h1, k1];
}

/** One IFD entry: ASCII (2, bytes incl. NUL), SHORT (3), LONG (4), RATIONAL (5, num/den pairs), LONG8 (16). */
export interface IfdEntry {
  tag: number;
  type: 2 | 3 | 4 | 5 | 16;
  values: number[] | Buffer;
}

/** Serialises one IFD at file offset `at` (out-of-line values follow the entries). */
export function encodeIfd(entries: IfdEntry[], at: number, big: boolean): Buffer {
  const sorted = [...entries].sort((a, b) => a.tag - b.tag);
  const esz = big ? 20 : 12;
  const inl = big ? 8 : 4;
  const headLen = (big ? 8 : 2) + sorted.length * esz + (big ? 8 : 4);
  const size = (e: IfdEntry): number =>
    e.values instanceof Buffer ? e.values.length : e.values.length * { 2: 1, 3: 2, 4: 4, 5: 4, 16: 8 }[e.type];
  const extra = sorted.reduce((s, e) => s + (size(e) > inl ? size(e) + 8 : 0), 0);
  const buf = Buffer.alloc(headLen + extra);
  let tail = headLen;
  let p = 0;
  if (big) {
    buf.writeBigUInt64LE(BigInt(sorted.length), 0);
    p = 8;
  } else {
    buf.writeUInt16LE(sorted.length, 0);
    p = 2;
  }
  for (const e of sorted) {
    const n = size(e);
    const count = e.values instanceof Buffer ? e.values.length : e.type === 5 ? e.values.length / 2 : e.values.length;
    buf.writeUInt16LE(e.tag, p);
    buf.writeUInt16LE(e.type, p + 2);
    if (big) buf.writeBigUInt64LE(BigInt(count), p + 4);
    else buf.writeUInt32LE(count, p + 4);
    let dst = p + (big ? 12 : 8);
    if (n > inl) {
      tail += tail % (big ? 8 : 2); // word-align out-of-line values, as the spec asks
      if (big) buf.writeBigUInt64LE(BigInt(at + tail), dst);
      else buf.writeUInt32LE(at + tail, dst);
      dst = tail;
      tail += n;
    }
    if (e.values instanceof Buffer) e.values.copy(buf, dst);
    else
      for (const v of e.values) {
        if (e.type === 3) {
          buf.writeUInt16LE(v, dst);
          dst += 2;
        } else if (e.type === 16) {
          buf.writeBigUInt64LE(BigInt(v), dst);
          dst += 8;
        } else {
          buf.writeUInt32LE(v, dst);
          dst += 4;
        } // LONG, and RATIONAL as pairs of LONG
      }
    p += esz;
  }
  return buf.subarray(0, tail); // next-IFD offset stays 0: one page
}
