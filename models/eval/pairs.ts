// Evaluation pairs: an HR image cropped to a multiple of the scale and its LR made by area (box) averaging,
// the degradation the model is trained on (docs/evaluation.md). Both stay in the HR file's own units.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { blurNoiseLr, OTHER_SCOPE, stretchTo8Bit, type Condition } from '../degradation/conditions';
import { pitchResample } from '../degradation/resample';
import { ImageSource } from '../io/image-source';
import { imagePercentiles } from '../io/percentiles';
import { roundToDtype, type PixelDtype } from '../io/types';
import type { RegionReader } from '../pipeline/super-resolve';
import { cropRect } from '../tiling';

/** The file types an evaluation (and training) folder is read for. */
export const EVAL_EXTENSIONS = ['.png', '.tif', '.tiff'];

/** HR percentiles that map HR and SR to [0, 1] for the metrics. */
export const METRIC_PERCENTILES: [number, number] = [0.1, 99.9];

export interface EvalPair {
  /** File name (no folder). */
  name: string;
  dtype: PixelDtype;
  /** HR size after the top-left crop to a multiple of `scale`. */
  width: number;
  height: number;
  /** HR raw values (cropped), row-major. */
  hr: Float32Array;
  /** LR raw values: box mean over scale x scale blocks, rounded to `dtype`. */
  lr: Float32Array;
  lrWidth: number;
  lrHeight: number;
  /** HR 0.1 / 99.9 percentiles (the metric mapping). */
  low: number;
  high: number;
  scale: number;
}

/** An error of the evaluation's input (folder missing or empty, image too small). */
export class EvalDataError extends Error {
  readonly code = 'SR_ERR_EVAL_DATA';
}

/**
 * Box mean over f x f blocks: output floor(width/f) x floor(height/f), so rows and columns past the last
 * whole block are dropped (a top-left crop). Rounded to `dtype` for integer dtypes, as if saved to a file.
 */
export function boxDownsample(data: Float32Array, width: number, height: number, f: number, dtype: PixelDtype): Float32Array {
  if (!Number.isInteger(f) || f < 1) throw new RangeError(`downsampling factor must be a positive integer, got ${f}`);
  if (data.length !== width * height) throw new RangeError(`${data.length} values for a ${width}x${height} image`);
  const ow = Math.floor(width / f);
  const oh = Math.floor(height / f);
  const sums = new Float64Array(ow);
  const out = new Float32Array(ow * oh);
  const inv = 1 / (f * f);
  for (let oy = 0; oy < oh; oy++) {
    sums.fill(0);
    for (let dy = 0; dy < f; dy++) {
      const row = (oy * f + dy) * width;
      for (let ox = 0; ox < ow; ox++) {
        let s = 0;
        for (let dx = 0; dx < f; dx++) s += data[row + ox * f + dx]!;
        sums[ox]! += s;
      }
    }
    for (let ox = 0; ox < ow; ox++) out[oy * ow + ox] = sums[ox]! * inv;
  }
  return roundToDtype(out, dtype);
}

/** The top-left w x h of a width-wide image (a copy). */
export function cropTopLeft(data: Float32Array, width: number, w: number, h: number): Float32Array {
  if (w > width || w * h > data.length) throw new RangeError(`crop ${w}x${h} is larger than the image`);
  if (w === width) return data.slice(0, w * h);
  return cropRect(data, width, { x: 0, y: 0, w, h });
}

/** An in-memory image as the pipeline (RegionReader) and the percentile code (with its dtype) read it. */
export function memoryImage(data: Float32Array, width: number, height: number, dtype: PixelDtype): RegionReader & { dtype: PixelDtype } {
  if (data.length !== width * height) throw new RangeError(`${data.length} values for a ${width}x${height} image`);
  return {
    width,
    height,
    dtype,
    async readRegion(x, y, w, h) {
      if (x < 0 || y < 0 || w < 1 || h < 1 || x + w > width || y + h > height) {
        throw new RangeError(`region ${w}x${h}+${x}+${y} is not inside the ${width}x${height} image`);
      }
      return cropRect(data, width, { x, y, w, h });
    },
  };
}

/** The 0.1 / 99.9 percentiles of an in-memory image (the same code and rule as for files). */
export async function percentilesOf(
  data: Float32Array,
  width: number,
  height: number,
  dtype: PixelDtype,
  pcts = METRIC_PERCENTILES,
): Promise<{ low: number; high: number }> {
  const { low, high } = await imagePercentiles(memoryImage(data, width, height, dtype), pcts);
  return { low, high };
}

/** Builds a pair from HR values already in memory (the file loader and tests share it). */
export async function makeEvalPair(
  name: string,
  data: Float32Array,
  width: number,
  height: number,
  dtype: PixelDtype,
  scale: number,
  condition: Condition = 'box',
  pitch?: number,
): Promise<EvalPair> {
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`scale must be a positive integer, got ${scale}`);
  if (condition === 'other-scope') {
    // The other microscope's HR is what gets scored, and its LR is the plain box mean of it.
    const wide = pitchResample(data, width, height, pitch ?? OTHER_SCOPE.pitch);
    const { low, high } = await percentilesOf(wide.data, wide.width, wide.height, 'float32');
    return makeEvalPair(name, stretchTo8Bit(wide.data, low, high), wide.width, wide.height, 'uint8', scale, 'box');
  }
  const w = Math.floor(width / scale) * scale;
  const h = Math.floor(height / scale) * scale;
  if (w === 0 || h === 0) throw new EvalDataError(`${name}: ${width}x${height} is smaller than one ${scale}x${scale} block`);
  const hr = cropTopLeft(data, width, w, h);
  const { low, high } = await percentilesOf(hr, w, h, dtype);
  const lr =
    condition === 'box' ? boxDownsample(hr, w, h, scale, dtype) : roundToDtype(blurNoiseLr(hr, w, h, scale, low, high, name), dtype);
  return { name, dtype, width: w, height: h, hr, lr, lrWidth: w / scale, lrHeight: h / scale, low, high, scale };
}

/** Loads an HR image file whole and makes its pair. */
export async function loadEvalPair(file: string, scale: number, condition: Condition = 'box', pitch?: number): Promise<EvalPair> {
  const src = await ImageSource.open(file);
  try {
    const data = await src.readRegion(0, 0, src.width, src.height);
    return await makeEvalPair(path.basename(file), data, src.width, src.height, src.dtype, scale, condition, pitch);
  } finally {
    await src.close();
  }
}

/** The .png/.tif/.tiff files of a folder, sorted by name; a clear error when it is missing or has none. */
export async function listEvalImages(dir: string): Promise<string[]> {
  const st = await stat(dir).catch(() => undefined);
  if (!st) throw new EvalDataError(`data folder not found: ${dir}`);
  if (!st.isDirectory()) throw new EvalDataError(`data folder is not a directory: ${dir}`);
  const names = (await readdir(dir)).filter((n) => EVAL_EXTENSIONS.includes(path.extname(n).toLowerCase())).sort();
  if (names.length === 0) throw new EvalDataError(`no ${EVAL_EXTENSIONS.join('/')} images in ${dir}`);
  return names.map((n) => path.join(dir, n));
}

/** Every image of a folder (sorted by name), or the files listed, as pairs. */
/** `pitch`: with 'other-scope', the pixel pitch of the other camera (default OTHER_SCOPE.pitch). */
export async function loadEvalPairs(
  dirOrFiles: string | string[],
  scale: number,
  condition: Condition = 'box',
  pitch?: number,
): Promise<EvalPair[]> {
  const files = typeof dirOrFiles === 'string' ? await listEvalImages(dirOrFiles) : dirOrFiles;
  const pairs: EvalPair[] = [];
  for (const f of files) pairs.push(await loadEvalPair(f, scale, condition, pitch));
  return pairs;
}
