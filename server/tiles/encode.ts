// Tile encodings (protocol ENCODINGS): png = 8-bit display mapping through the image's percentiles (the
// normalised value 0..1 -> 0..255, clipped; lossless PNG); u16 / f32 = the image's own intensity units;
// u16z / f32z = those filtered (protocol raw-filter.ts) and deflated (zlib, on the libuv thread pool).
import { endianness } from 'node:os';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

import sharp from 'sharp';

import { denormalise } from '../../models/io/normalisation';
import { filterF32, filterU16, type Encoding } from '../protocol';
import type { EncodedTile, FloatTile } from './float-tile';

/** zlib level of u16z / f32z: 1 is within a few % of 6 on these filtered bytes at a fraction of the time (docs/benchmarks/viewport-bytes.md). */
const DEFLATE_LEVEL = 1;
const deflate = promisify(zlib.deflate);

if (endianness() !== 'LE') throw new Error('phasesr tile encodings are little-endian; this machine is big-endian');

export async function encodeTile(t: FloatTile, encoding: Encoding, low: number, high: number): Promise<EncodedTile> {
  const { width, height, data } = t;
  if (encoding === 'png') {
    const px = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = Math.round(data[i]! * 255);
      px[i] = v > 0 ? (v < 255 ? v : 255) : 0; // NaN -> 0
    }
    const png = await sharp(px, { raw: { width, height, channels: 1 } })
      .toColourspace('b-w')
      .png({ compressionLevel: 4 })
      .toBuffer();
    return { width, height, payload: new Uint8Array(png.buffer, png.byteOffset, png.byteLength) };
  }
  const raw = denormalise(data, low, high, encoding === 'u16' || encoding === 'u16z' ? 'uint16' : 'float32');
  if (encoding === 'u16' || encoding === 'f32')
    return { width, height, payload: new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength) };
  const filtered = encoding === 'u16z' ? filterU16(raw as Uint16Array, width) : filterF32(raw as Float32Array);
  const z = await deflate(filtered, { level: DEFLATE_LEVEL });
  return { width, height, payload: new Uint8Array(z.buffer, z.byteOffset, z.byteLength) };
}

/** MIME type of an encoding over HTTP. */
export function contentType(encoding: Encoding): string {
  return encoding === 'png' ? 'image/png' : 'application/octet-stream';
}
