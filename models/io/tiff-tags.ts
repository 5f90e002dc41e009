// Minimal TIFF/BigTIFF directory reader: page count, sample layout and the few tags we need (description,
// resolution), read with positional reads of a few KB, never the pixels.
// Why hand-written rather than geotiff's lazy fromFile: it is ~150 lines, has no API churn risk (geotiff 3
// changed its fileDirectory shape), reads BigTIFF and both byte orders, and walks the IFD chain cheaply to
// count pages (geotiff has to parse each IFD fully to do so).
import { open, type FileHandle } from 'node:fs/promises';

import { ImageError, ioError } from './errors';

/** What one IFD (page) says about itself. Absent tags are undefined. */
export interface TiffPage {
  width: number;
  height: number;
  bitsPerSample: number[];
  /** 1 unsigned int, 2 signed int, 3 IEEE float (TIFF default 1). */
  sampleFormat: number;
  samplesPerPixel: number;
  compression: number;
  photometric: number | undefined;
  description: string | undefined;
  /** Pixels per ResolutionUnit. */
  xResolution: number | undefined;
  yResolution: number | undefined;
  /** 1 none, 2 inch (TIFF default), 3 cm. */
  resolutionUnit: number | undefined;
  tiled: boolean;
  /** Number of SubIFDs (tag 330), e.g. pyramid levels in OME-TIFF. */
  subIfdCount: number;
}

/** Summary of a TIFF file's directory chain. */
export interface TiffInfo {
  littleEndian: boolean;
  bigTiff: boolean;
  /** Pages read (at most maxPages). */
  pages: TiffPage[];
  /** True when the chain went on beyond maxPages. */
  capped: boolean;
}

const TYPE_SIZE: Record<number, number> = {
  1: 1,
  2: 1,
  3: 2,
  4: 4,
  5: 8,
  6: 1,
  7: 1,
  8: 2,
  9: 4,
  10: 8,
  11: 4,
  12: 8,
  13: 4,
  16: 8,
  17: 8,
  18: 8,
};
/** Longest ImageDescription we read: OME-XML of large plates can be MBs; we only need the first Pixels. */
const MAX_DESCRIPTION = 4 << 20;

class Reader {
  constructor(
    readonly fh: FileHandle,
    readonly path: string,
    readonly size: number,
    public le = true,
  ) {}

  /** Reads `len` bytes at `pos`, both checked against the file size first: a hostile header (an IFD at
   *  2^60, 2^40 entries) is a decode error, never a huge allocation or an out-of-range read. */
  async bytes(pos: number, len: number): Promise<Buffer> {
    if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(len) || pos < 0 || len < 0 || pos + len > this.size) {
      throw new ImageError(
        'SR_ERR_IMAGE_DECODE',
        `${this.path}: TIFF directory points beyond the end of the file (${len} bytes at ${pos}, file is ${this.size} bytes; truncated or corrupt)`,
        { path: this.path },
      );
    }
    const buf = Buffer.alloc(len);
    const { bytesRead } = await this.fh.read(buf, 0, len, pos);
    if (bytesRead < len) {
      throw new ImageError('SR_ERR_IMAGE_DECODE', `${this.path}: TIFF directory points beyond the end of the file (truncated?)`, {
        path: this.path,
      });
    }
    return buf;
  }

  num(buf: Buffer, off: number, type: number): number {
    const le = this.le;
    switch (type) {
      case 1:
      case 2:
      case 7:
        return buf.readUInt8(off);
      case 6:
        return buf.readInt8(off);
      case 3:
        return le ? buf.readUInt16LE(off) : buf.readUInt16BE(off);
      case 8:
        return le ? buf.readInt16LE(off) : buf.readInt16BE(off);
      case 4:
      case 13:
        return le ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
      case 9:
        return le ? buf.readInt32LE(off) : buf.readInt32BE(off);
      case 11:
        return le ? buf.readFloatLE(off) : buf.readFloatBE(off);
      case 12:
        return le ? buf.readDoubleLE(off) : buf.readDoubleBE(off);
      case 16:
      case 18:
        return Number(le ? buf.readBigUInt64LE(off) : buf.readBigUInt64BE(off));
      case 17:
        return Number(le ? buf.readBigInt64LE(off) : buf.readBigInt64BE(off));
      case 5:
        return this.num(buf, off, 4) / this.num(buf, off + 4, 4);
      case 10:
        return this.num(buf, off, 9) / this.num(buf, off + 4, 9);
      default:
        return NaN;
    }
  }
}

interface Entry {
  type: number;
  count: number;
  inline: Buffer;
  offset: number;
}

async function entryValues(r: Reader, e: Entry, max: number): Promise<number[]> {
  const size = TYPE_SIZE[e.type] ?? 1;
  const n = Math.min(e.count, max);
  const buf = size * e.count <= e.inline.length ? e.inline : await r.bytes(e.offset, size * n);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(r.num(buf, i * size, e.type));
  return out;
}

async function readPage(r: Reader, ifd: Map<number, Entry>, detailed: boolean): Promise<TiffPage> {
  const first = async (tag: number): Promise<number | undefined> => {
    const e = ifd.get(tag);
    return e ? (await entryValues(r, e, 1))[0] : undefined;
  };
  const page: TiffPage = {
    width: (await first(256)) ?? 0,
    height: (await first(257)) ?? 0,
    bitsPerSample: [1],
    sampleFormat: 1,
    samplesPerPixel: 1,
    compression: 1,
    photometric: undefined,
    description: undefined,
    xResolution: undefined,
    yResolution: undefined,
    resolutionUnit: undefined,
    tiled: ifd.has(322),
    subIfdCount: ifd.get(330)?.count ?? 0,
  };
  if (!detailed) return page;
  const bps = ifd.get(258);
  if (bps) page.bitsPerSample = await entryValues(r, bps, 16);
  page.sampleFormat = (await first(339)) ?? 1;
  page.samplesPerPixel = (await first(277)) ?? 1;
  page.compression = (await first(259)) ?? 1;
  page.photometric = await first(262);
  page.xResolution = await first(282);
  page.yResolution = await first(283);
  page.resolutionUnit = await first(296);
  await checkPixelData(r, ifd, page);
  const desc = ifd.get(270);
  if (desc && desc.type === 2) {
    const len = Math.min(desc.count, MAX_DESCRIPTION);
    const buf = desc.count <= desc.inline.length ? desc.inline : await r.bytes(desc.offset, len);
    // ASCII by the spec, but ImageJ/OME writers put UTF-8 (µ) in it; a NUL terminates.
    page.description = buf
      .subarray(0, len)
      .toString('utf8')
      .replace(/\0[\s\S]*$/, '');
  }
  return page;
}

/**
 * Checks that page 0's tiles or strips exist and lie inside the file: one offset and byte count per tile
 * (strip) the size calls for, each ending before the end of the file. Decoders read a missing tile as
 * zeros, so a header declaring 65000x65000 over one 16-byte tile would otherwise open as a huge blank image.
 */
async function checkPixelData(r: Reader, ifd: Map<number, Entry>, page: TiffPage): Promise<void> {
  const one = async (tag: number, dflt: number): Promise<number> => {
    const e = ifd.get(tag);
    return e ? ((await entryValues(r, e, 1))[0] ?? dflt) : dflt;
  };
  const separate = (await one(284, 1)) === 2;
  const planes = separate ? page.samplesPerPixel : 1;
  let parts: number;
  let offTag: number;
  let cntTag: number;
  if (page.tiled) {
    const tw = await one(322, 0);
    const th = await one(323, 0);
    if (!(tw > 0 && th > 0))
      throw new ImageError('SR_ERR_IMAGE_DECODE', `${r.path}: TIFF tile size ${tw}x${th} is not valid`, { path: r.path });
    parts = Math.ceil(page.width / tw) * Math.ceil(page.height / th) * planes;
    [offTag, cntTag] = [324, 325];
  } else {
    const rows = Math.min(await one(278, page.height), page.height);
    parts = rows > 0 ? Math.ceil(page.height / rows) * planes : Infinity;
    [offTag, cntTag] = [273, 279];
  }
  const what = page.tiled ? 'tiles' : 'strips';
  const offs = ifd.get(offTag);
  const cnts = ifd.get(cntTag);
  if (!offs || !cnts || offs.count < parts || cnts.count < parts) {
    throw new ImageError(
      'SR_ERR_IMAGE_DECODE',
      `${r.path}: TIFF declares ${page.width}x${page.height} pixels in ${parts} ${what} but ` +
        `locates ${Math.min(offs?.count ?? 0, cnts?.count ?? 0)} (corrupt or truncated)`,
      { path: r.path },
    );
  }
  const o = await entryValues(r, offs, parts);
  const c = await entryValues(r, cnts, parts);
  for (let i = 0; i < parts; i++) {
    if (!(o[i]! >= 0 && c[i]! >= 0 && o[i]! + c[i]! <= r.size)) {
      throw new ImageError(
        'SR_ERR_IMAGE_DECODE',
        `${r.path}: TIFF ${what.slice(0, -1)} ${i} (${c[i]} bytes at ${o[i]}) lies beyond the end of the ${r.size}-byte file (truncated or corrupt)`,
        { path: r.path },
      );
    }
  }
}

/**
 * Reads the directory chain of a TIFF or BigTIFF file: full details of page 0, width/height of the rest.
 * @param maxPages stop walking after this many pages (`capped` says so).
 * @throws ImageError SR_ERR_IO when the file cannot be opened, SR_ERR_IMAGE_DECODE when it is not a TIFF.
 */
export async function readTiffInfo(path: string, maxPages = 1024): Promise<TiffInfo> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw ioError(path, 'open', err);
  }
  try {
    const r = new Reader(fh, path, (await fh.stat()).size);
    const head = await r.bytes(0, 16).catch(() => r.bytes(0, 8)); // a classic TIFF can be < 16 bytes
    const order = head.toString('latin1', 0, 2);
    if (order !== 'II' && order !== 'MM')
      throw new ImageError('SR_ERR_IMAGE_DECODE', `${path}: not a TIFF file (no II/MM byte-order mark)`, { path });
    r.le = order === 'II';
    const magic = r.num(head, 2, 3);
    if (magic !== 42 && magic !== 43) throw new ImageError('SR_ERR_IMAGE_DECODE', `${path}: not a TIFF file (magic ${magic})`, { path });
    const big = magic === 43;
    let next = big ? r.num(head, 8, 16) : r.num(head, 4, 4);
    const pages: TiffPage[] = [];
    const seen = new Set<number>();
    let capped = false;
    while (next !== 0) {
      if (seen.has(next)) break; // a loop in the IFD chain: corrupt, but what we have is usable
      if (pages.length >= maxPages) {
        capped = true;
        break;
      }
      seen.add(next);
      const cb = await r.bytes(next, big ? 8 : 2);
      const n = big ? r.num(cb, 0, 16) : r.num(cb, 0, 3);
      const esz = big ? 20 : 12;
      const body = await r.bytes(next + (big ? 8 : 2), n * esz + (big ? 8 : 4));
      const ifd = new Map<number, Entry>();
      for (let i = 0; i < n; i++) {
        const o = i * esz;
        ifd.set(r.num(body, o, 3), {
          type: r.num(body, o + 2, 3),
          count: big ? r.num(body, o + 4, 16) : r.num(body, o + 4, 4),
          inline: body.subarray(o + (big ? 12 : 8), o + esz),
          offset: big ? r.num(body, o + 12, 16) : r.num(body, o + 8, 4),
        });
      }
      pages.push(await readPage(r, ifd, pages.length === 0));
      next = big ? r.num(body, n * esz, 16) : r.num(body, n * esz, 4);
    }
    if (pages.length === 0) throw new ImageError('SR_ERR_IMAGE_DECODE', `${path}: TIFF has no image directory`, { path });
    return { littleEndian: r.le, bigTiff: big, pages, capped };
  } finally {
    await fh.close();
  }
}
