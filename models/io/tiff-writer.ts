// Streaming writer of single-channel, uncompressed TIFF/BigTIFF with ImageJ calibration metadata (a whole
// in-memory image: write-image.ts).
// Hand-written because nothing installed fits: sharp cannot write float32 TIFF nor an ImageJ description and
// needs the whole image as one buffer; geotiff's writeArrayBuffer (and utif etc.) also build the whole file in
// memory; and an 8x super-resolved output has 64x the input's pixels (a 20k x 20k input -> 25 GB float32).
// Rows are appended to `<path>.partial` as they come; the IFD goes at the end and the header is patched to
// point at it; finish() renames onto `path`, so a crash or abort() never leaves a half-written output.
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';

import { ImageError, ioError } from './errors';
import { encodeIfd, toRational, type IfdEntry } from './tiff-ifd';
import { DTYPE_BYTES, type DtypeArray, type PixelDtype, type PixelSize } from './types';

/** Re-exported for callers that import everything output-related from here. */
export type { PixelDtype as Dtype, PixelSize } from './types';

/** Options of {@link TiffWriter.create}. */
export interface TiffWriterOptions<D extends PixelDtype = PixelDtype> {
  width: number;
  height: number;
  dtype: D;
  /** Physical pixel size, written as ImageJ calibration (unit) and X/YResolution = 1/size. */
  pixelSize?: PixelSize;
  /** Free text appended after the ImageJ header; written verbatim if it is itself ImageJ or OME-XML. */
  description?: string;
  /** Rows per strip (default: strips of about 256 KiB). */
  rowsPerStrip?: number;
  /** Force BigTIFF (default: only when the file would exceed 4 GiB). */
  bigTiff?: boolean;
}

/** ImageJ version string we claim; 1.53t reads every tag we write. */
const IMAGEJ_VERSION = '1.53t';
const STRIP_BYTES = 256 << 10;

/** ImageJ's spelling of a unit: it writes 'micron' for µm (ASCII) and reads it back as µm. */
function imagejUnit(unit: string): string {
  return unit === 'µm' ? 'micron' : unit;
}

/**
 * Streaming single-page TIFF writer. Usage: `create` -> `writeRows` (in order, awaited) ... -> `finish`;
 * on any failure call `abort` (writeRows/finish abort by themselves when they throw).
 */
export class TiffWriter<D extends PixelDtype = PixelDtype> {
  /** Rows written so far. */
  rowsWritten = 0;
  private pos: number;
  private min = Infinity;
  private max = -Infinity;
  private done = false;

  private constructor(
    /** Final output path. */
    readonly path: string,
    /** Temporary file being written, renamed onto `path` by finish(). */
    readonly partialPath: string,
    private fh: FileHandle,
    private readonly opts: TiffWriterOptions<D>,
    /** Whether the file is BigTIFF. */
    readonly bigTiff: boolean,
    private readonly rowsPerStrip: number,
  ) {
    this.pos = bigTiff ? 16 : 8;
  }

  /**
   * Creates `<path>.partial` and writes the header.
   * @throws ImageError SR_ERR_IO (directory missing/read-only, path is a directory), SR_ERR_REGION (bad size).
   */
  static async create<D extends PixelDtype>(path: string, opts: TiffWriterOptions<D>): Promise<TiffWriter<D>> {
    const { width, height, dtype } = opts;
    if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1) {
      throw new ImageError('SR_ERR_REGION', `cannot write ${path}: invalid size ${width}x${height}`, { path });
    }
    if (!(dtype in DTYPE_BYTES))
      throw new ImageError('SR_ERR_OUTPUT_FORMAT', `cannot write ${path}: unsupported dtype ${String(dtype)}`, { path });
    if (endianness() !== 'LE') throw new Error('TiffWriter assumes a little-endian host'); // every Node target today
    const rowBytes = width * DTYPE_BYTES[dtype];
    const rowsPerStrip = Math.min(height, Math.max(1, opts.rowsPerStrip ?? Math.floor(STRIP_BYTES / rowBytes)));
    const strips = Math.ceil(height / rowsPerStrip);
    const estimate = 16 + rowBytes * height + strips * 8 + (opts.description?.length ?? 0) + (1 << 16);
    const bigTiff = opts.bigTiff ?? estimate > 0xffffffff;
    const st = await stat(path).catch(() => undefined);
    if (st?.isDirectory()) throw new ImageError('SR_ERR_IO', `cannot write ${path}: is a directory`, { path });
    const partialPath = `${path}.partial`;
    let fh: FileHandle;
    try {
      fh = await open(partialPath, 'w');
    } catch (err) {
      throw ioError(partialPath, 'create', err);
    }
    const w = new TiffWriter(path, partialPath, fh, opts, bigTiff, rowsPerStrip);
    const head = Buffer.alloc(bigTiff ? 16 : 8);
    head.write('II', 0, 'latin1');
    if (bigTiff) {
      head.writeUInt16LE(43, 2);
      head.writeUInt16LE(8, 4);
    } else head.writeUInt16LE(42, 2);
    await w.guard(() => w.write(head, 0)); // IFD offset patched by finish()
    return w;
  }

  /** Appends k full rows (length k * width, the writer's dtype), top to bottom. */
  async writeRows(rows: DtypeArray[D]): Promise<void> {
    await this.guard(async () => {
      const { width, height, dtype } = this.opts;
      const ok =
        dtype === 'uint8' ? rows instanceof Uint8Array : dtype === 'uint16' ? rows instanceof Uint16Array : rows instanceof Float32Array;
      if (!ok) throw new TypeError(`TiffWriter(${dtype}).writeRows: got ${rows.constructor.name}`);
      const k = rows.length / width;
      if (!Number.isInteger(k) || this.rowsWritten + k > height) {
        throw new ImageError(
          'SR_ERR_REGION',
          `${this.path}: ${rows.length} samples are not whole rows of ${width} or overrun height ${height} (${this.rowsWritten} written)`,
          { path: this.path },
        );
      }
      if (rows instanceof Float32Array) this.trackRange(rows);
      const bytes = Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength);
      for (let o = 0; o < bytes.length; o += 1 << 30) {
        // fs writes cap at 2 GiB
        const part = bytes.subarray(o, Math.min(bytes.length, o + (1 << 30)));
        await this.write(part, this.pos);
        this.pos += part.length;
      }
      this.rowsWritten += k;
    });
  }

  /** Writes the IFD, patches the header, closes and renames the partial file onto `path`. */
  async finish(): Promise<void> {
    await this.guard(async () => {
      const { height } = this.opts;
      if (this.rowsWritten !== height) {
        throw new ImageError('SR_ERR_REGION', `${this.path}: finish() after ${this.rowsWritten} of ${height} rows`, { path: this.path });
      }
      const align = this.bigTiff ? 8 : 2;
      const ifdAt = this.pos + ((align - (this.pos % align)) % align);
      const ifd = encodeIfd(this.entries(), ifdAt, this.bigTiff);
      await this.write(ifd, ifdAt);
      const ptr = Buffer.alloc(this.bigTiff ? 8 : 4);
      if (this.bigTiff) ptr.writeBigUInt64LE(BigInt(ifdAt));
      else ptr.writeUInt32LE(ifdAt);
      await this.write(ptr, this.bigTiff ? 8 : 4);
      await this.fh.close();
      this.done = true;
      try {
        await rename(this.partialPath, this.path);
      } catch (err) {
        throw ioError(this.path, 'rename the finished file onto', err);
      }
    });
  }

  /** Closes and deletes the partial file. Safe to call more than once, or after a failure. */
  async abort(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.fh.close().catch(() => undefined);
    }
    await rm(this.partialPath, { force: true }).catch(() => undefined);
  }

  private entries(): IfdEntry[] {
    const { width, height, dtype, pixelSize, description } = this.opts;
    const rowBytes = width * DTYPE_BYTES[dtype];
    const dataStart = this.bigTiff ? 16 : 8;
    const offsets: number[] = [];
    const counts: number[] = [];
    for (let r = 0; r < height; r += this.rowsPerStrip) {
      offsets.push(dataStart + r * rowBytes);
      counts.push(Math.min(this.rowsPerStrip, height - r) * rowBytes);
    }
    const longs: 4 | 16 = this.bigTiff ? 16 : 4;
    const e: IfdEntry[] = [
      { tag: 256, type: 4, values: [width] },
      { tag: 257, type: 4, values: [height] },
      { tag: 258, type: 3, values: [DTYPE_BYTES[dtype] * 8] },
      { tag: 259, type: 3, values: [1] }, // no compression: strips can be located without an index
      { tag: 262, type: 3, values: [1] }, // BlackIsZero
      { tag: 273, type: longs, values: offsets },
      { tag: 277, type: 3, values: [1] },
      { tag: 278, type: 4, values: [this.rowsPerStrip] },
      { tag: 279, type: longs, values: counts },
      { tag: 284, type: 3, values: [1] },
      { tag: 305, type: 2, values: Buffer.from('phasesr\0', 'latin1') },
      { tag: 339, type: 3, values: [dtype === 'float32' ? 3 : 1] },
    ];
    const desc = this.description(description, pixelSize);
    e.push({ tag: 270, type: 2, values: Buffer.from(`${desc}\0`, 'utf8') });
    if (pixelSize) {
      e.push({ tag: 282, type: 5, values: toRational(1 / pixelSize.x) });
      e.push({ tag: 283, type: 5, values: toRational(1 / pixelSize.y) });
      e.push({ tag: 296, type: 3, values: [1] }); // 'none': ImageJ takes the unit from the description
    }
    return e;
  }

  private description(extra: string | undefined, px: PixelSize | undefined): string {
    if (extra !== undefined && (extra.startsWith('ImageJ=') || extra.startsWith('<?xml'))) return extra;
    let s = `ImageJ=${IMAGEJ_VERSION}\n`;
    if (px) s += `unit=${imagejUnit(px.unit)}\n`;
    // Float images display black without a range in ImageJ; min/max are known only now, at the end.
    if (this.opts.dtype === 'float32' && this.min <= this.max) s += `min=${this.min}\nmax=${this.max}\n`;
    return extra ? `${s}${extra}` : s;
  }

  private trackRange(a: Float32Array): void {
    let lo = this.min;
    let hi = this.max;
    for (let i = 0; i < a.length; i++) {
      const v = a[i]!;
      if (v < lo) lo = v; // NaN fails both comparisons: skipped
      if (v > hi) hi = v;
    }
    this.min = lo;
    this.max = hi;
  }

  private async write(buf: Buffer, at: number): Promise<void> {
    try {
      await this.fh.write(buf, 0, buf.length, at);
    } catch (err) {
      throw ioError(this.partialPath, 'write', err);
    }
  }

  /** Runs a step; on failure deletes the partial file before rethrowing. */
  private async guard(step: () => Promise<void>): Promise<void> {
    if (this.done) throw new ImageError('SR_ERR_IO', `${this.path}: writer already finished or aborted`, { path: this.path });
    try {
      await step();
    } catch (err) {
      await this.abort();
      throw err;
    }
  }
}
