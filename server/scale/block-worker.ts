// A worker's side of the shared block queue: takes block jobs from BullMQ (highest priority first), reads
// the block from the image in the shared folder, runs the engine (the same code as the in-process queue,
// tiles/block-inference.ts) and writes every tile into the shared cache, then a marker for the block. The
// job returns only who did it. A worker killed mid-job loses its lock; BullMQ's stalled check gives the job
// to another worker. A job no live server wants any more (they died) is skipped, not computed. Used by
// `phasesr worker` and by `phasesr serve --redis` unless --no-local-engine.
import { hostname } from 'node:os';

import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';

import { haloFor, ImageSource, type LoadedModel, type SuperResBackend } from '../../models';
import { ServerError } from '../errors';
import { BusyClock } from '../engine/busy-clock';
import { ServedImage } from '../images/served-image';
import { inferBlocks } from '../tiles/block-inference';
import { TileCache } from '../tiles/tile-cache';
import {
  JOB_NAME,
  LIVE_WANTERS,
  QUEUE_PREFIX,
  queueName,
  redactUrl,
  redisOptions,
  scaleKeys,
  type BlockJobData,
  type BlockJobResult,
  type EngineCallData,
  type WorkerBeat,
} from './block-jobs';
import { readCallInput, writeCallOutput } from './engine-call-files';
import { settleWithin } from './bounded-close';
import type { SharedDir } from './shared-dir';

export interface BlockWorkerOptions {
  url: string;
  shared: SharedDir;
  model: LoadedModel;
  engine: SuperResBackend;
  /** Name in /health (default host:pid). */
  id?: string;
  /**
   * Jobs held at once (default 2). The engine thread still runs one call at a time (WorkerEngine); the second job
   * is read, checked and written around the first one's engine run, so the engine does not wait for the queue
   * and the shared folder between blocks (docs/benchmarks/scale.md).
   */
  concurrency?: number;
  /** A job whose worker has not renewed its lock for this long goes to another worker (BullMQ lockDuration). */
  lockMs?: number;
  log: (line: string) => void;
}

/** Jobs a worker holds at once unless told otherwise. */
export const WORKER_CONCURRENCY = 2;
/** Source images kept open by a worker (most recently used). */
const OPEN_IMAGES = 8;
const BEAT_MS = 2_000;

export class BlockWorker {
  readonly id: string;
  readonly counters = { done: 0, inferred: 0, skipped: 0, dropped: 0, calls: 0, failed: 0 };
  readonly #worker: Worker<BlockJobData | EngineCallData, BlockJobResult>;
  readonly #beats: Redis;
  readonly #keys: ReturnType<typeof scaleKeys>;
  readonly #cache: TileCache;
  readonly #images = new Map<string, Promise<ServedImage>>();
  readonly #timer: NodeJS.Timeout;
  readonly #inference = { engineCalls: 0, blocksInferred: 0, tilesComputed: 0 };
  readonly #jobClock = new BusyClock();

  constructor(private readonly opts: BlockWorkerOptions) {
    this.id = opts.id ?? `${hostname()}:${process.pid}`;
    const name = queueName(opts.model.sha256);
    this.#keys = scaleKeys(name);
    // Memory caches stay tiny: the worker writes tiles for the servers to read, it serves none itself.
    // diskRequired: a tile that did not reach the shared folder fails the job, so its block is not marked done.
    this.#cache = new TileCache({
      encodedBytes: 1 << 20,
      floatBytes: 1 << 20,
      dir: opts.shared.cacheDir,
      diskRequired: true,
      log: opts.log,
    });
    const conn = redisOptions(opts.url);
    const lockMs = opts.lockMs ?? 30_000;
    this.#worker = new Worker<BlockJobData | EngineCallData, BlockJobResult>(name, (job) => this.#jobClock.time(() => this.#process(job)), {
      connection: { ...conn, maxRetriesPerRequest: null },
      prefix: QUEUE_PREFIX,
      concurrency: opts.concurrency ?? WORKER_CONCURRENCY,
      lockDuration: lockMs,
      stalledInterval: lockMs,
      maxStalledCount: 2,
    });
    let down = false;
    this.#worker.on('error', (e) => {
      if (!down) opts.log(`worker ${this.id}: redis ${redactUrl(opts.url)}: ${e.message} (reconnecting)`);
      down = true;
    });
    this.#worker.on('ready', () => {
      if (down) opts.log(`worker ${this.id}: connected to redis again`);
      down = false;
    });
    this.#beats = new Redis({ ...conn, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.#beats.on('error', () => undefined);
    this.#timer = setInterval(() => void this.#beat(), BEAT_MS);
    this.#timer.unref();
    void this.#beat();
  }

  get queueName(): string {
    return this.#worker.name;
  }

  async waitUntilReady(): Promise<void> {
    await this.#worker.waitUntilReady();
  }

  /**
   * Finishes the job in hand, then stops taking jobs. With Redis away the job could not be reported anyway
   * (its lock lapses and another worker takes it): the worker stops at once instead of waiting for Redis.
   */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    // The heartbeat connection says whether Redis is reachable (it does not queue commands while away).
    const connected = (): boolean => this.#beats.status === 'ready';
    if (connected()) {
      const graceful = this.#worker.close();
      // Redis going away while the job in hand finishes: stop waiting then.
      while (!(await settleWithin(graceful, 250)) && connected());
    } else {
      await settleWithin(this.#worker.close(true));
    }
    if (connected()) await this.#beat();
    this.#beats.disconnect();
    for (const p of this.#images.values())
      await p.then(
        (img) => img.source.close(),
        () => undefined,
      );
    this.#images.clear();
  }

  async #process(job: Job<BlockJobData | EngineCallData, BlockJobResult>): Promise<BlockJobResult> {
    const t0 = performance.now();
    const d = job.data;
    try {
      if (d.modelSha !== this.opts.model.sha256)
        throw Object.assign(
          new Error(`job for model ${d.modelSha.slice(0, 16)}, this worker runs ${this.opts.model.sha256.slice(0, 16)}`),
          { code: 'SR_ERR_USAGE' },
        );
      // Every server that wanted it is gone: nobody would read the result.
      // If the check itself fails (this connection still reconnecting), the job is computed: waste, not loss.
      const live = await this.#beats.eval(LIVE_WANTERS, 1, this.#keys.wanted(job.id!), this.#keys.alive('')).catch(() => 1);
      if (Number(live) === 0) {
        this.counters.done++;
        this.counters.dropped++;
        return { worker: this.id, inferred: false, dropped: true, ms: performance.now() - t0, finishedAt: Date.now() };
      }
      const inferred = job.name === JOB_NAME.engineCall ? await this.#call(d as EngineCallData) : await this.#block(d as BlockJobData);
      this.counters.done++;
      return { worker: this.id, inferred, ms: performance.now() - t0, finishedAt: Date.now() };
    } catch (e) {
      this.counters.failed++;
      const err = e as { code?: unknown; message?: string };
      // The code travels in BullMQ's failedReason; the server turns it back into a coded error.
      throw new Error(
        `${typeof err.code === 'string' && err.code.startsWith('SR_ERR_') ? err.code : 'SR_ERR_INTERNAL'}: ${err.message ?? String(e)}`,
      );
    } finally {
      void this.#beat();
    }
  }

  /** A block's tiles into the shared cache, then its marker; false: they were there already. */
  async #block(d: BlockJobData): Promise<boolean> {
    const shared = this.opts.shared;
    // Added again after a race (its first run finished and was removed): the tiles are there already.
    if (await shared.isBlockDone(d.imageSha, d.modelSha, d.blockSize, d.bx, d.by)) {
      this.counters.skipped++;
      return false;
    }
    const img = await this.#image(d);
    const [r] = await inferBlocks([{ img, bx: d.bx, by: d.by }], this.opts.engine, this.#cache, d.modelSha, this.#inference);
    if (r instanceof Error) throw r;
    await shared.markBlockDone(d.imageSha, d.modelSha, d.blockSize, d.bx, d.by);
    this.counters.inferred++;
    return true;
  }

  /** One engine call of a server's whole-image job: input and output through the shared folder. */
  async #call(d: EngineCallData): Promise<boolean> {
    const input = await readCallInput(this.opts.shared.resolve(d.input), d.n * d.height * d.width);
    const levels = await this.opts.engine.run(input, d.n, d.height, d.width, d.need);
    try {
      await writeCallOutput(this.opts.shared.resolve(d.output), levels);
    } catch (e) {
      this.opts.log(`engine call ${d.output}: ${(e as Error).message}`);
      throw new ServerError(
        'SR_ERR_CACHE_WRITE',
        `an engine call's output could not be written into the shared folder (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
        { cause: e },
      );
    }
    this.counters.calls++;
    return true;
  }

  /** The job's image, opened from the shared folder (kept open for the next blocks). */
  #image(d: BlockJobData): Promise<ServedImage> {
    const key = `${d.imageSha}/${d.blockSize}`;
    let p = this.#images.get(key);
    if (p) {
      this.#images.delete(key);
      this.#images.set(key, p); // most recently used last
      return p;
    }
    p = (async () => {
      const src = await ImageSource.open(this.opts.shared.resolve(d.file));
      const cfg = this.opts.model.config;
      // A worker only normalises (low/high); the display range (unsaturated) is the servers' business.
      const percentiles = { low: d.low, high: d.high, sampled: d.sampled, pcts: d.pcts, unsaturated: { low: d.low, high: d.high } };
      return new ServedImage(
        d.imageSha.slice(0, 16),
        d.imageSha,
        d.file,
        src,
        percentiles,
        cfg.scale,
        haloFor(cfg),
        d.blockSize,
        false,
        false,
      );
    })();
    p.catch(() => this.#images.delete(key));
    this.#images.set(key, p);
    while (this.#images.size > OPEN_IMAGES) {
      const [oldest, q] = this.#images.entries().next().value as [string, Promise<ServedImage>];
      this.#images.delete(oldest);
      // Let a job still reading from it finish first.
      setTimeout(
        () =>
          void q.then(
            (img) => img.source.close(),
            () => undefined,
          ),
        60_000,
      ).unref();
    }
    return p;
  }

  async #beat(): Promise<void> {
    const e = this.opts.engine;
    const b: WorkerBeat = {
      seen: Date.now(),
      ...this.counters,
      engine: e.engine,
      threads: e.threads,
      jobMs: Math.round(this.#jobClock.ms),
      ...(e.busyMs !== undefined ? { engineMs: Math.round(e.busyMs) } : {}),
    };
    await this.#beats.hset(this.#keys.workers, this.id, JSON.stringify(b)).catch(() => undefined);
  }
}
