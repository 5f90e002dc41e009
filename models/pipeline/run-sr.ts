// One-shot super-resolution of a file (or a region of it) into a file: open, normalise once with the whole
// image's percentiles, stream tiles through the engine, write rows as they finish. Shared by `phasesr sr`
// and the server's jobs (whole files, and regions of the images it has open).
import path from 'node:path';
import type { EngineChoice, SuperResBackend } from '../engine/backend';
import { createEngine } from '../engine/create-engine';
import { ImageSource } from '../io/image-source';
import { denormalise } from '../io/normalisation';
import { imagePercentiles } from '../io/percentiles';
import { TiffWriter, type Dtype, type PixelSize } from '../io/tiff-writer';
import { writeImage } from '../io/write-image';
import { describeModel, resolveModel } from '../registry';
import type { LoadedModel } from '../weights-file';
import { haloFor } from '../tiling';
import { regionWindow, type Region } from './region-window';
import { superResolve } from './super-resolve';
import { CodedError } from '../error-codes';

export interface RunSrOptions {
  input: string;
  output: string;
  scale: 2 | 4 | 8;
  /** A preset name or model directory to load, or a model already loaded (the server's). */
  model?: string | LoadedModel;
  tile?: number;
  batch?: number;
  float32?: boolean;
  /** Input pixel size in µm, overriding (or supplying) the file's own. */
  pixelSizeUm?: number;
  engine?: EngineChoice;
  threads?: number;
  log?: (line: string) => void;
  onProgress?: (done: number, total: number) => void;
  /** Stops the run between engine calls; the partial output and temporary files are removed. */
  signal?: AbortSignal;
  /** Run on this engine (the server's shared one) instead of creating one; it is not disposed. */
  backend?: SuperResBackend;
  /** Read this open image instead of opening `input` (which then only names it); it is not closed. */
  source?: ImageSource;
  /** Only this region (native pixels): the output equals the same region of the whole image's output. */
  region?: Region;
  /** The whole image's normalisation percentiles, when already known (as NORMALISATION_PERCENTILES gives them). */
  percentiles?: { low: number; high: number; sampled?: boolean };
}

export interface RunSrResult {
  width: number;
  height: number;
  dtype: Dtype;
  pixelSize?: PixelSize;
  ms: number;
  /** What the input needed on the way (also logged as `warning: ...` lines). */
  warnings: string[];
}

/** The percentiles that map input intensities to the model's 0..1 (the same rule as training). */
export const NORMALISATION_PERCENTILES: [number, number] = [0.1, 99.9];

export async function runSr(o: RunSrOptions): Promise<RunSrResult> {
  const t0 = performance.now();
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const ext = path.extname(o.output).toLowerCase();
  const tiff = ext === '.tif' || ext === '.tiff';
  if (!tiff && ext !== '.png') throw new CodedError('SR_ERR_OUTPUT_FORMAT', `output must end in .tif, .tiff or .png, got '${o.output}'`);
  if (o.float32 && !tiff) throw new CodedError('SR_ERR_OUTPUT_FORMAT', '--float32 output needs a .tif/.tiff file (PNG has no float32)');

  // The input first: a missing or undecodable file fails with its own code before any model is read.
  const src = o.source ?? (await ImageSource.open(o.input));
  try {
    const model = typeof o.model === 'object' ? o.model : await resolveModel(o.model);
    log(`model: ${describeModel(model)}`);
    const level = Math.log2(o.scale);
    if (o.scale > model.config.scale) {
      throw new CodedError('SR_ERR_USAGE', `model ${model.config.name} is ${model.config.scale}x; it cannot make ${o.scale}x`);
    }
    for (const w of src.warnings) log(`warning: ${w}`);
    const { low, high, sampled = false } = o.percentiles ?? (await imagePercentiles(src, NORMALISATION_PERCENTILES));
    log(
      `normalisation: ${src.dtype} ${NORMALISATION_PERCENTILES.join('/')} percentiles ` +
        `= ${+low.toPrecision(6)}..${+high.toPrecision(6)}${sampled ? ' (sampled)' : ''}`,
    );
    let window;
    try {
      window = o.region && regionWindow(src, o.region, haloFor(model.config));
    } catch (e) {
      throw new CodedError('SR_ERR_REGION', `${path.basename(o.input)}: ${(e as Error).message}`);
    }
    const width = (o.region?.width ?? src.width) * o.scale;
    const height = (o.region?.height ?? src.height) * o.scale;
    const dtype: Dtype = o.float32 ? 'float32' : src.dtype;
    const inPixel = o.pixelSizeUm ? { x: o.pixelSizeUm, y: o.pixelSizeUm, unit: 'µm' } : src.pixelSize;
    if (o.pixelSizeUm && src.pixelSize)
      log(`pixel size: --pixel-size ${o.pixelSizeUm} µm overrides the file's ${src.pixelSize.x} ${src.pixelSize.unit}`);
    if (!inPixel) log('pixel size: none in the file (pass --pixel-size to calibrate the output)');
    const pixelSize = inPixel && { ...inPixel, x: inPixel.x / o.scale, y: inPixel.y / o.scale };
    const of = o.region ? `the ${o.region.width}x${o.region.height}+${o.region.x}+${o.region.y} region of ` : '';
    const description = `phasesr ${o.scale}x of ${of}${path.basename(o.input)} with model ${model.config.name} (sha256 ${model.sha256.slice(0, 12)})`;

    const engine =
      o.backend ??
      (await createEngine(model.config, model.weights, {
        int8: model.int8,
        ...(o.engine ? { engine: o.engine } : {}),
        ...(o.threads ? { threads: o.threads } : {}),
        log,
      }));
    // TIFF streams rows to disk as bands finish; PNG (sharp) needs the whole image, so it is only for
    // outputs that fit in memory.
    const writer = tiff
      ? await TiffWriter.create(o.output, { width, height, dtype, ...(pixelSize ? { pixelSize } : {}), description })
      : undefined;
    const whole = tiff ? undefined : allocate(dtype, width * height);
    try {
      await superResolve(
        window?.reader ?? src,
        engine,
        {
          tile: o.tile ?? 64,
          batch: o.batch ?? 4,
          level,
          low,
          high,
          ...(o.onProgress ? { onProgress: o.onProgress } : {}),
          ...(o.signal ? { signal: o.signal } : {}),
        },
        async (full) => {
          const band = window ? window.crop(full, o.scale) : full;
          if (band.height === 0) return;
          // float32 (--float32) comes back unclipped and unrounded, in the input's intensity units.
          const rows = denormalise(band.data, low, high, dtype);
          if (writer) await writer.writeRows(rows);
          else whole!.set(rows, band.y * width);
        },
      );
      if (writer) await writer.finish();
      else await writeImage(o.output, { width, height, dtype, data: whole! }, pixelSize ? { pixelSize } : {});
    } catch (e) {
      await writer?.abort();
      throw e;
    } finally {
      if (!o.backend) await engine.dispose();
    }
    return { width, height, dtype, ...(pixelSize ? { pixelSize } : {}), ms: performance.now() - t0, warnings: [...src.warnings] };
  } finally {
    if (!o.source) await src.close();
  }
}

function allocate(dtype: Dtype, n: number): Uint8Array | Uint16Array | Float32Array {
  return dtype === 'uint8' ? new Uint8Array(n) : dtype === 'uint16' ? new Uint16Array(n) : new Float32Array(n);
}
