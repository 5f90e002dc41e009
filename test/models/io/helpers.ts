// Test helpers: temp dirs, and a tiny independent TIFF builder for files our writer would never make
// (int16, float64, 1-bit, RGB, multi-page, hand-made ImageJ/OME/cm-resolution tags).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temp dir, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'phasesr-io-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One page of a hand-built TIFF. */
export interface RawPage {
  width: number;
  height: number;
  /** Pixel bytes, little-endian, chunky. */
  data: Buffer;
  bitsPerSample?: number;
  samplesPerPixel?: number;
  /** 1 uint, 2 int, 3 float. */
  sampleFormat?: number;
  description?: string;
  /** [num, den] pairs. */
  xResolution?: [number, number];
  yResolution?: [number, number];
  resolutionUnit?: number;
}

/** Builds a classic little-endian TIFF, one strip per page, pages chained in order. */
export function buildTiff(pages: RawPage[]): Buffer {
  const parts: Buffer[] = [];
  let pos = 8;
  const header = Buffer.alloc(8);
  header.write('II', 0, 'latin1');
  header.writeUInt16LE(42, 2);
  parts.push(header);
  const ifdStarts: number[] = [];
  const nextSlots: number[] = [];
  for (const p of pages) {
    const spp = p.samplesPerPixel ?? 1;
    const dataAt = pos;
    parts.push(p.data);
    pos += p.data.length + (p.data.length % 2);
    if (p.data.length % 2) parts.push(Buffer.alloc(1));
    const extra: Buffer[] = [];
    let extraAt = 0;
    const entries: [number, number, number, number | Buffer][] = [
      [256, 4, 1, p.width],
      [257, 4, 1, p.height],
      [258, 3, spp, spp === 1 ? (p.bitsPerSample ?? 16) : Buffer.from(new Uint16Array(spp).fill(p.bitsPerSample ?? 8).buffer)],
      [259, 3, 1, 1],
      [262, 3, 1, spp >= 3 ? 2 : 1],
      [273, 4, 1, dataAt],
      [277, 3, 1, spp],
      [278, 4, 1, p.height],
      [279, 4, 1, p.data.length],
      [284, 3, 1, 1],
      [339, 3, 1, p.sampleFormat ?? 1],
    ];
    if (p.description !== undefined) {
      const d = Buffer.from(`${p.description}\0`, 'utf8');
      entries.push([270, 2, d.length, d]);
    }
    const rat = (v: [number, number]): Buffer => {
      const b = Buffer.alloc(8);
      b.writeUInt32LE(v[0]);
      b.writeUInt32LE(v[1], 4);
      return b;
    };
    if (p.xResolution) entries.push([282, 5, 1, rat(p.xResolution)]);
    if (p.yResolution) entries.push([283, 5, 1, rat(p.yResolution)]);
    if (p.resolutionUnit !== undefined) entries.push([296, 3, 1, p.resolutionUnit]);
    entries.sort((a, b) => a[0] - b[0]);
    const ifdAt = pos;
    const ifd = Buffer.alloc(2 + entries.length * 12 + 4);
    extraAt = ifdAt + ifd.length;
    ifd.writeUInt16LE(entries.length, 0);
    for (const [i, [tag, type, count, v]] of entries.entries()) {
      const o = 2 + i * 12;
      ifd.writeUInt16LE(tag, o);
      ifd.writeUInt16LE(type, o + 2);
      ifd.writeUInt32LE(count, o + 4);
      if (typeof v === 'number') {
        if (type === 3) ifd.writeUInt16LE(v, o + 8);
        else ifd.writeUInt32LE(v, o + 8);
      } else if (v.length <= 4) v.copy(ifd, o + 8);
      else {
        ifd.writeUInt32LE(extraAt, o + 8);
        extra.push(v);
        extraAt += v.length;
        if (v.length % 2) {
          extra.push(Buffer.alloc(1));
          extraAt++;
        }
      }
    }
    ifdStarts.push(ifdAt);
    nextSlots.push(ifdAt + 2 + entries.length * 12);
    parts.push(ifd, ...extra);
    pos = extraAt;
  }
  const file = Buffer.concat(parts);
  file.writeUInt32LE(ifdStarts[0]!, 4);
  for (let i = 0; i + 1 < ifdStarts.length; i++) file.writeUInt32LE(ifdStarts[i + 1]!, nextSlots[i]!);
  return file;
}

/** Little-endian bytes of a typed array. */
export function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}
