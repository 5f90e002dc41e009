// One whole-image super-resolution on the server, shared by the WebSocket batch API and the HTTP one-shot
// endpoint: checks (model, pixel count, free disk), then `runSr` on the server's own engine into a temp
// TIFF in the input's dtype with the pixel size divided by the scale. Jobs wait their turn in a Limiter.
import { randomBytes } from 'node:crypto';
import { link, mkdtemp, rm, statfs } from 'node:fs/promises';
import path from 'node:path';

import sharp from 'sharp';

import { runSr, type ImageSource, type LoadedModel, type RunSrOptions, type SuperResBackend } from '../../models';
import type { ServerOptions } from '../config';
import { nameFileInError, ServerError } from '../errors';
import type { ServerMessageOf } from '../protocol';
import type { ServerStats } from '../stats';
import { Limiter } from '../limiter';

export type JobStage = ServerMessageOf<'progress'>['stage'];

export interface SrJobRequest {
  /** The input file (an upload in the work folder, or an allowed server-side path). */
  input: string;
  scale: 2 | 4 | 8;
  /** Must name the model the server runs (its name or the spec it was started with), when given. */
  model?: string | undefined;
  float32?: boolean | undefined;
  pixelSizeUm?: number | undefined;
  signal: AbortSignal;
  onProgress?: (stage: JobStage, done: number, total: number) => void;
  /** Called when the job's turn comes (it leaves the queue). */
  onStart?: () => void;
  /** The name the client knows the input by: error messages say it instead of the server's temp path. */
  displayName?: string;
}

/** A region of an image the server has open, super-resolved as part of the whole image. */
export interface SrRegionRequest {
  /** The open image: its source, its name (for the output's description) and its whole-image percentiles. */
  image: { source: ImageSource; name: string; percentiles: { low: number; high: number; sampled: boolean } };
  region: { x: number; y: number; width: number; height: number };
  scale: 2 | 4 | 8;
  float32?: boolean | undefined;
  signal: AbortSignal;
  onProgress?: (stage: JobStage, done: number, total: number) => void;
}

export interface SrJobResult {
  /** The output TIFF in the work folder; the caller removes it (or hands it to the ResultStore). */
  path: string;
  width: number;
  height: number;
  dtype: 'uint8' | 'uint16' | 'float32';
  pixelSize?: { x: number; y: number; unit: string };
  ms: number;
  /** What the input needed on the way (colour converted to grey, ...), as `phasesr sr` prints them. */
  warnings: string[];
}

/** What a job needs of the server. */
export interface SrJobHost {
  /** The engine jobs run on (the server's, wrapped by yieldingEngine so tile work goes first). */
  readonly engine: SuperResBackend;
  /** The model that engine runs, loaded once at start (jobs do not read its weights again). */
  readonly model: LoadedModel;
  readonly options: ServerOptions;
  /** Counts the jobs computed (`srJobs`): tests check that a request computes once. */
  readonly stats?: ServerStats;
}

/**
 * Tiles per engine call for whole-image jobs. 1: a batch job holds the engine for one 64x64 LR tile at a time,
 * so tile requests for the viewer are never stuck behind a long call; the throughput cost is small on CPU.
 */
export const JOB_ENGINE_BATCH = 1;
/** LR tile side of whole-image jobs (runSr's default). */
export const JOB_TILE = 64;

/** Whole-image jobs waiting for their turn before SR_ERR_BUSY. */
export const MAX_WAITING_JOBS = 64;

export class SrJobs {
  readonly queue = new Limiter(1, MAX_WAITING_JOBS);

  /**
   * @param engine the engine jobs run on (the server's, through yieldingEngine)
   * @param workDir where uploads and outputs go: the image store's upload folder, removed when the server closes
   */
  constructor(
    private readonly host: SrJobHost,
    readonly workDir: string,
  ) {}

  /** A fresh file name in the work folder (uploads and outputs). */
  tempPath(ext: string): string {
    return path.join(this.workDir, `${randomBytes(12).toString('hex')}${ext}`);
  }

  async run(req: SrJobRequest): Promise<SrJobResult> {
    if (!req.displayName) return this.#run(req);
    // An upload is run under its own name (a hard link in a folder of its own): the output's TIFF description
    // says "of cells.tif", not a temp name, and messages name the file as the client knows it.
    const dir = await mkdtemp(path.join(this.workDir, 'job-'));
    const named = path.join(dir, safeName(req.displayName));
    try {
      await link(req.input, named);
      return await this.#run({ ...req, input: named });
    } catch (e) {
      throw nameFileInError(nameFileInError(e, named, req.displayName), req.input, req.displayName);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * A region of an open image, read from its source with the whole image's percentiles: the output equals
   * that region of the whole image's output (`phasesr sr`).
   */
  async runRegion(req: SrRegionRequest): Promise<SrJobResult> {
    const { image, region: r, scale } = req;
    const bytes = req.float32 ? 4 : image.source.dtype === 'uint8' ? 1 : image.source.dtype === 'uint16' ? 2 : 4;
    await this.#checkDisk(r.width * r.height * scale * scale * bytes);
    return this.#execute(`region ${r.width}x${r.height}+${r.x}+${r.y} of ${image.name}`, req, {
      input: image.name,
      source: image.source,
      region: r,
      percentiles: image.percentiles,
      scale,
      float32: !!req.float32,
    });
  }

  async #run(req: SrJobRequest): Promise<SrJobResult> {
    this.#checkModel(req.model);
    req.onProgress?.('open', 0, 1);
    const { width, height } = await this.#checkInput(req.input, req.scale, !!req.float32);
    return this.#execute(`${width}x${height}`, req, {
      input: req.input,
      scale: req.scale,
      float32: !!req.float32,
      ...(req.pixelSizeUm ? { pixelSizeUm: req.pixelSizeUm } : {}),
    });
  }

  /** runSr on the server's engine into a temp TIFF, when the queue gives this job its turn. */
  #execute(
    what: string,
    req: Pick<SrJobRequest, 'signal' | 'onProgress' | 'onStart'>,
    o: Omit<RunSrOptions, 'output'>,
  ): Promise<SrJobResult> {
    const out = this.tempPath('.tif');
    return this.queue.run(async () => {
      const t0 = performance.now();
      if (this.host.stats) this.host.stats.srJobs++;
      req.onStart?.();
      try {
        const r = await runSr({
          ...o,
          output: out,
          model: this.host.model,
          backend: this.host.engine,
          tile: JOB_TILE,
          batch: JOB_ENGINE_BATCH,
          signal: req.signal,
          log: () => undefined,
          onProgress: (d, t) => req.onProgress?.('inference', d, t),
        });
        this.host.options.log(`sr job: ${what} -> ${r.width}x${r.height} ${r.dtype} in ${Math.round(performance.now() - t0)} ms`);
        return {
          path: out,
          width: r.width,
          height: r.height,
          dtype: r.dtype,
          ...(r.pixelSize ? { pixelSize: r.pixelSize } : {}),
          ms: r.ms,
          warnings: r.warnings,
        };
      } catch (e) {
        await rm(out, { force: true });
        await rm(`${out}.partial`, { force: true });
        throw e;
      }
    }, req.signal);
  }

  #checkModel(model: string | undefined): void {
    const served = this.host.engine.config.name;
    if (model === undefined || model === served || model === this.host.options.model) return;
    throw new ServerError(
      'SR_ERR_USAGE',
      `this server runs model '${served}', not '${model}' (start it with --model ${model}, or leave model out)`,
    );
  }

  /** Pixel limit from the header (nothing decoded) and room on disk for the output. */
  async #checkInput(file: string, scale: number, float32: boolean): Promise<{ width: number; height: number }> {
    let meta;
    try {
      meta = await sharp(file, { limitInputPixels: false }).metadata();
    } catch {
      return { width: 0, height: 0 }; // not decodable: runSr's ImageSource.open reports it with its own code
    }
    const w = meta.width ?? 0;
    const h = meta.height ?? 0;
    if (w * h > this.host.options.maxImagePixels) {
      throw new ServerError(
        'SR_ERR_TOO_LARGE',
        `image is ${w}x${h} = ${w * h} pixels, above the server's limit of ${this.host.options.maxImagePixels}`,
      );
    }
    await this.#checkDisk(w * h * scale * scale * (float32 ? 4 : meta.depth === 'uchar' ? 1 : meta.depth === 'ushort' ? 2 : 4));
    return { width: w, height: h };
  }

  async #checkDisk(need: number): Promise<void> {
    const fs = await statfs(this.workDir);
    if (need > fs.bavail * fs.bsize) {
      throw new ServerError(
        'SR_ERR_TOO_LARGE',
        `the output could need ${(need / 2 ** 30).toFixed(1)} GiB; the server's temp folder has ${((fs.bavail * fs.bsize) / 2 ** 30).toFixed(1)} GiB free`,
      );
    }
  }
}

/** A client-given name as a plain file name (no folders, no odd characters). */
function safeName(name: string): string {
  return (
    path
      .basename(name)
      .replace(/[^\w.-]+/g, '_')
      .slice(-100) || 'image'
  );
}
