// writeImage(): a whole in-memory image to TIFF (through the streaming TiffWriter, any dtype, ImageJ
// calibration) or PNG (sharp, 8/16-bit), chosen by the file's extension; atomic like the writer itself.
import { rename, rm } from 'node:fs/promises';
import { extname } from 'node:path';

import sharp from 'sharp';

import { ImageError, ioError } from './errors';
import { TiffWriter } from './tiff-writer';
import { DTYPE_BYTES, type DtypeArray, type PixelDtype, type PixelSize } from './types';

/** A whole single-channel image in memory. */
export interface ImageData<D extends PixelDtype = PixelDtype> {
  width: number;
  height: number;
  dtype: D;
  data: DtypeArray[D];
}

/**
 * Writes a whole image by extension: .tif/.tiff -> TiffWriter (any dtype, ImageJ calibration);
 * .png -> sharp, 8 or 16-bit (pHYs from pixelSize when in µm). Atomic: written to `<path>.partial`, renamed.
 * @throws ImageError SR_ERR_OUTPUT_FORMAT (other extension, float32 to PNG), SR_ERR_IO, SR_ERR_REGION (size).
 */
export async function writeImage(path: string, img: ImageData, opts: { pixelSize?: PixelSize; description?: string } = {}): Promise<void> {
  const ext = extname(path).toLowerCase();
  const { width, height, dtype, data } = img;
  if (data.length !== width * height) {
    throw new ImageError('SR_ERR_REGION', `cannot write ${path}: ${data.length} samples for ${width}x${height}`, { path });
  }
  if (ext === '.tif' || ext === '.tiff') {
    const w = await TiffWriter.create(path, { width, height, dtype, ...opts });
    const chunk = Math.max(1, Math.floor((64 << 20) / (width * DTYPE_BYTES[dtype]))); // 64 MB writes
    for (let y = 0; y < height; y += chunk) await w.writeRows(data.subarray(y * width, Math.min(height, y + chunk) * width));
    await w.finish();
    return;
  }
  if (ext !== '.png')
    throw new ImageError('SR_ERR_OUTPUT_FORMAT', `cannot write ${path}: unsupported extension '${ext}' (use .tif, .tiff or .png)`, {
      path,
    });
  if (dtype === 'float32')
    throw new ImageError('SR_ERR_OUTPUT_FORMAT', `cannot write ${path}: PNG cannot hold float32 samples (write .tif)`, { path });
  let png = sharp(data, { raw: { width, height, channels: 1 } }).toColourspace(dtype === 'uint16' ? 'grey16' : 'b-w');
  const ps = opts.pixelSize;
  if (ps && ps.unit === 'µm' && ps.x > 0) png = png.withDensity(25400 / ps.x); // pHYs, square only; withMetadata would colour-manage (lossy)
  const partial = `${path}.partial`;
  try {
    await png.png().toFile(partial);
    await rename(partial, path);
  } catch (err) {
    await rm(partial, { force: true }).catch(() => undefined);
    throw ioError(path, 'write', err);
  }
}
