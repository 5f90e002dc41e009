// A validated, single-channel view of an image file of any size, read by regions (tiles, bands).
// Small images are decoded once into memory; big ones are read through sharp region extracts, from the file
// itself when it is a tiled TIFF, else from a one-off uncompressed VIPS copy (see `open`).
import { mkdtemp, rm, stat, access, open as fsOpen } from 'node:fs/promises';
import { constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp, { type Metadata } from 'sharp';

import { decodeGrey, SHARP_INPUT, type DecodeRecipe } from './decode';
import { ImageError, ioError } from './errors';
import { pixelSizeFromPng, pixelSizeFromTiffPage } from './metadata';
import { readTiffInfo, type TiffPage } from './tiff-tags';
import type { PixelDtype, PixelSize } from './types';
import { cropRect } from '../tiling';

/** Options of {@link ImageSource.open}. */
export interface ImageSourceOptions {
  /** Images up to this many pixels are decoded whole into memory at open (default 16 Mpix = 64 MB). */
  inMemoryPixels?: number;
  /** Where the uncompressed copy of a big non-tiled image goes (default os.tmpdir()). */
  tempDir?: string;
}

const DEPTHS: Record<string, PixelDtype> = { uchar: 'uint8', ushort: 'uint16', float: 'float32' };

/** Reads a TIFF's tags only if the file starts with a TIFF signature (sharp may sniff other formats). */
async function tiffPage0(path: string): Promise<{ page: TiffPage; pages: TiffPage[]; capped: boolean } | undefined> {
  const fh = await fsOpen(path, 'r');
  const sig = Buffer.alloc(4);
  try {
    await fh.read(sig, 0, 4, 0);
  } finally {
    await fh.close();
  }
  const s = sig.toString('latin1', 0, 2);
  if (s !== 'II' && s !== 'MM') return undefined;
  const info = await readTiffInfo(path);
  return { page: info.pages[0]!, pages: info.pages, capped: info.capped };
}

/** Rejects sample layouts we do not process, before sharp silently casts them. */
function checkTiffType(path: string, p: TiffPage): void {
  const bits = p.bitsPerSample[0] ?? 1;
  const kind = p.sampleFormat === 2 ? 'int' : p.sampleFormat === 3 ? 'float' : 'uint';
  const ok = (kind === 'uint' && (bits === 8 || bits === 16)) || (kind === 'float' && bits === 32);
  if (p.width === 0 || p.height === 0) throw new ImageError('SR_ERR_IMAGE_EMPTY', `${path}: image is ${p.width}x${p.height}`, { path });
  if (!ok) {
    throw new ImageError(
      'SR_ERR_IMAGE_TYPE',
      `${path}: ${bits}-bit ${kind} samples are not supported (use 8/16-bit unsigned or 32-bit float)`,
      { path },
    );
  }
}

/** A single-channel image file opened for region reads. Create with {@link ImageSource.open}. */
export class ImageSource {
  private memory: Float32Array | undefined;
  private regionFile: string;
  private tempDir: string | undefined;

  private constructor(
    /** The file opened. */
    readonly path: string,
    readonly width: number,
    readonly height: number,
    /** Sample type of the stored image; readRegion returns these values as float32. */
    readonly dtype: PixelDtype,
    readonly format: 'tiff' | 'png' | 'jpeg',
    /** Physical pixel size, when the file carries one. */
    readonly pixelSize: PixelSize | undefined,
    /** What was converted or ignored on the way (colour -> grey, pyramid levels, odd metadata). */
    readonly warnings: string[],
    private readonly recipe: DecodeRecipe,
  ) {
    this.regionFile = path;
  }

  /**
   * Opens and validates an image: TIFF (single page or pyramid), PNG or JPEG; 8/16-bit unsigned or 32-bit
   * float (TIFF); grey or colour (converted to grey, with a warning).
   * @throws ImageError SR_ERR_IO, SR_ERR_IMAGE_DECODE, SR_ERR_IMAGE_EMPTY, SR_ERR_IMAGE_TYPE, SR_ERR_IMAGE_MULTIPAGE.
   */
  static async open(path: string, opts: ImageSourceOptions = {}): Promise<ImageSource> {
    const st = await stat(path).catch((err: unknown) => {
      throw ioError(path, 'open', err);
    });
    if (st.isDirectory()) throw new ImageError('SR_ERR_IO', `cannot open ${path}: is a directory`, { path });
    await access(path, constants.R_OK).catch((err: unknown) => {
      throw ioError(path, 'read', err);
    });
    if (st.size === 0) throw new ImageError('SR_ERR_IMAGE_DECODE', `${path}: file is empty`, { path });
    const warnings: string[] = [];
    const tiff = await tiffPage0(path);
    if (tiff) checkTiffType(path, tiff.page);
    let meta: Metadata;
    try {
      meta = await sharp(path, SHARP_INPUT).metadata();
    } catch (err) {
      throw new ImageError('SR_ERR_IMAGE_DECODE', `cannot decode ${path}: ${(err as Error).message}`, { path, cause: err });
    }
    const format = meta.format === 'tiff' || meta.format === 'png' || meta.format === 'jpeg' ? meta.format : undefined;
    if (!format)
      throw new ImageError('SR_ERR_IMAGE_TYPE', `${path}: ${meta.format} images are not supported (use TIFF, PNG or JPEG)`, { path });
    const width = meta.width ?? 0;
    const height = meta.height ?? 0;
    if (width === 0 || height === 0) throw new ImageError('SR_ERR_IMAGE_EMPTY', `${path}: image is ${width}x${height}`, { path });
    const dtype = DEPTHS[meta.depth ?? ''];
    if (!dtype)
      throw new ImageError(
        'SR_ERR_IMAGE_TYPE',
        `${path}: sample type '${meta.depth}' is not supported (use 8/16-bit unsigned or 32-bit float)`,
        { path },
      );
    if ((meta.bitsPerSample ?? 8) < 8 && !meta.isPalette) {
      throw new ImageError('SR_ERR_IMAGE_TYPE', `${path}: ${meta.bitsPerSample}-bit images are not supported (use 8/16-bit)`, { path });
    }
    if (tiff && tiff.pages.length > 1) {
      // A pyramid (each later page smaller than page 0) has the full image in page 0; a stack does not.
      const p0 = tiff.page;
      const pyramid = tiff.pages.slice(1).every((p) => p.width < p0.width && p.height < p0.height);
      const n = `${tiff.pages.length}${tiff.capped ? '+' : ''}`;
      if (!pyramid)
        throw new ImageError(
          'SR_ERR_IMAGE_MULTIPAGE',
          `${path}: TIFF has ${n} pages (a stack); save the plane to process as a single-page TIFF`,
          { path },
        );
      warnings.push(`TIFF pyramid with ${n} levels: using the full-resolution page 0`);
    }
    const channels = meta.channels ?? 1;
    const colour = channels >= 3;
    if (meta.space === 'cmyk') throw new ImageError('SR_ERR_IMAGE_TYPE', `${path}: CMYK images are not supported`, { path });
    if (colour && dtype === 'float32')
      throw new ImageError('SR_ERR_IMAGE_TYPE', `${path}: multi-channel float images are not supported`, { path });
    if (meta.hasAlpha) warnings.push('alpha channel ignored');
    const ps = tiff ? pixelSizeFromTiffPage(tiff.page) : format === 'png' ? await pixelSizeFromPng(path) : { warnings: [] };
    warnings.push(...ps.warnings);

    const src = new ImageSource(path, width, height, dtype, format, ps.pixelSize, warnings, { dtype, colour });
    await src.prepare(colour, tiff?.page.tiled ?? false, opts);
    return src;
  }

  /**
   * Reads a rectangle, row-major, as float32 values in the image's own units (0..65535 for uint16).
   * @throws ImageError SR_ERR_REGION when the rectangle is not inside the image, SR_ERR_IMAGE_DECODE on bad
   * data, SR_ERR_IO after close().
   */
  async readRegion(x: number, y: number, w: number, h: number): Promise<Float32Array> {
    if (this.regionFile === '') throw new ImageError('SR_ERR_IO', `${this.path}: image source is closed`, { path: this.path });
    const okInt = [x, y, w, h].every(Number.isSafeInteger);
    if (!okInt || x < 0 || y < 0 || w < 1 || h < 1 || x + w > this.width || y + h > this.height) {
      throw new ImageError(
        'SR_ERR_REGION',
        `${this.path}: region ${w}x${h}+${x}+${y} is not inside the ${this.width}x${this.height} image`,
        { path: this.path },
      );
    }
    if (this.memory) {
      return cropRect(this.memory, this.width, { x, y, w, h });
    }
    const img = sharp(this.regionFile, SHARP_INPUT).extract({ left: x, top: y, width: w, height: h });
    return (await decodeGrey(img, this.recipe, this.path)).data;
  }

  /** Frees memory and deletes the temporary copy, if any. The source cannot be read afterwards. */
  async close(): Promise<void> {
    this.memory = undefined;
    if (this.tempDir) await rm(this.tempDir, { recursive: true, force: true });
    this.tempDir = undefined;
    this.regionFile = '';
  }

  /**
   * Decodes now, so corrupt or truncated files fail at open rather than mid-run. Why the copy: sharp can
   * only extract a region of a PNG/JPEG/stripped TIFF by decoding every row above it (measured: 1.5 s for a
   * tile at the bottom of a 16k x 16k PNG), so tiling it would be quadratic; an uncompressed VIPS file is
   * memory-mapped and any region comes back in ~1 ms. Tiled TIFFs already have random access.
   */
  private async prepare(colour: boolean, tiled: boolean, opts: ImageSourceOptions): Promise<void> {
    const pixels = this.width * this.height;
    if (pixels <= (opts.inMemoryPixels ?? 16 << 20)) {
      const g = await decodeGrey(sharp(this.path, SHARP_INPUT), this.recipe, this.path);
      this.memory = g.data;
      if (colour)
        this.warnings.push(
          g.channelsDiffer
            ? 'colour image converted to grey (luma 0.299 R + 0.587 G + 0.114 B)'
            : 'colour image with equal channels: using one channel (no loss)',
        );
      return;
    }
    if (colour)
      this.warnings.push(
        'colour image converted to grey (luma 0.299 R + 0.587 G + 0.114 B; channel equality not checked for large images)',
      );
    if (tiled) return;
    try {
      this.tempDir = await mkdtemp(join(opts.tempDir ?? tmpdir(), 'phasesr-src-'));
    } catch (err) {
      throw ioError(opts.tempDir ?? tmpdir(), 'create a temporary directory in', err);
    }
    const copy = join(this.tempDir, 'source.v');
    const r = this.recipe;
    let img = sharp(this.path, { ...SHARP_INPUT, sequentialRead: true }); // streamed: constant memory
    img =
      r.dtype === 'float32'
        ? img.extractChannel(0)
        : img.toColourspace(r.dtype === 'uint16' ? (r.colour ? 'rgb16' : 'grey16') : r.colour ? 'srgb' : 'b-w');
    try {
      await img.toFile(copy);
    } catch (err) {
      await this.close();
      // The copy's temp path means nothing to the user (and is the server's business when serving).
      const why = (err as Error).message.split(copy).join('the temporary copy');
      throw new ImageError('SR_ERR_IMAGE_DECODE', `cannot decode ${this.path}: ${why}`, { path: this.path, cause: err });
    }
    this.regionFile = copy;
  }
}
