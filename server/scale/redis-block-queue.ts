// The server's side of the shared block queue (BullMQ on Redis). A tile that needs a block asks here:
// the block becomes one BullMQ job (id = image hash, model sha256, block), whatever server asks; this
// server's requests wait on it together; the job's priority follows its waiters (visible before prefetch,
// changePriority when a viewport hint promotes one); when no waiter on any server wants a queued job any
// more it is removed. A server renews a liveness key (SERVER_TTL_MS); a server that dies stops, and the
// workers skip the queued jobs only it wanted instead of computing them. Workers write the tiles into the shared cache and the job's completion says so;
// no pixels pass through Redis. While Redis is unreachable, /health and the log say so and tile requests
// get SR_ERR_QUEUE_UNAVAILABLE; ioredis reconnects by itself and work resumes without a restart.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';

import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';

import type { LevelBatch, Rect } from '../../models';
import { ServerError } from '../errors';
import type { ServedImage } from '../images/served-image';
import { isErrorCode } from '../protocol';
import { joinJob, type Pending, type Waiter } from '../tiles/inference-queue';
import type { RemoteBlocks } from '../tiles/tile-service';
import {
  blockJobId,
  JOB_NAME,
  parseFailedReason,
  PRIORITY,
  QUEUE_PREFIX,
  queueName,
  redactUrl,
  redisOptions,
  scaleKeys,
  SERVER_BEAT_MS,
  SERVER_TTL_MS,
  type BlockJobData,
  type BlockJobResult,
  type EngineCallData,
  type WorkerBeat,
} from './block-jobs';
import { readCallOutput, writeCallInput } from './engine-call-files';
import type { EngineCalls } from './remote-engine';
import { CLOSE_MS, settleWithin } from './bounded-close';
import { callId, type SharedDir } from './shared-dir';

export interface RedisBlockQueueOptions {
  url: string;
  shared: SharedDir;
  modelSha: string;
  /** This server's name in the "wanted by" sets (host:pid). */
  serverId: string;
  /** Jobs this server waits on at most before SR_ERR_BUSY. */
  maxQueued: number;
  /** While no worker is alive, work waits this long, then fails SR_ERR_NO_WORKER (requests after that fail at once). */
  workerWaitMs: number;
  log: (line: string) => void;
}

interface PendingJob {
  id: string;
  data: BlockJobData;
  waiters: Map<Waiter, Pending<void>>;
  priority: number;
  checkedAt: number;
}

interface PendingCall {
  data: EngineCallData;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** Counters for /health: what this server did with the shared queue. */
export interface QueueCounters {
  added: number;
  completed: number;
  failed: number;
  /** Queued jobs removed because no viewer on any server wanted them any more. */
  removed: number;
  /** Jobs a worker lost (killed mid-job) that BullMQ put back in the queue. */
  stalled: number;
  /** Jobs this server found gone from Redis (or skipped by a worker) while it still waited, and added again. */
  readded: number;
  priorityChanges: number;
  /** Tile requests answered SR_ERR_QUEUE_UNAVAILABLE. */
  unavailable: number;
  /** Engine calls of whole-image jobs that workers ran for this server. */
  engineCalls: number;
  /** Block jobs and engine calls failed, and requests refused, with SR_ERR_NO_WORKER. */
  noWorker: number;
  /** Summed over completed jobs: ms from a worker ending the job to this server hearing of it (QueueEvents). */
  notifyMs: number;
  /** Engine-call files removed from the shared folder because the server that made them is dead (killed mid-call). */
  callFilesSwept: number;
}

/** A heartbeat older than this: the worker is listed but not counted as seen. */
const WORKER_SEEN_MS = 15_000;
/** How often queued jobs' priorities are brought in line with their waiters. */
const RECONCILE_MS = 250;
/** How often a waiting job is checked to still exist in Redis (a restart, a removal race). */
const RECHECK_MS = 2_000;
/** How often a server looks in calls/ for files that a dead server left (cheap: one readdir). */
const SWEEP_MS = 10_000;

// Drops this server from a job's "wanted by" set and returns how many servers still want it.
const UNWANT = "redis.call('SREM', KEYS[1], ARGV[1]); return redis.call('SCARD', KEYS[1])";

export class RedisBlockQueue implements RemoteBlocks, EngineCalls {
  readonly counters: QueueCounters = {
    added: 0,
    completed: 0,
    failed: 0,
    removed: 0,
    stalled: 0,
    readded: 0,
    priorityChanges: 0,
    unavailable: 0,
    engineCalls: 0,
    noWorker: 0,
    notifyMs: 0,
    callFilesSwept: 0,
  };
  readonly #client: Redis;
  readonly #queue: Queue<BlockJobData | EngineCallData, BlockJobResult>;
  readonly #events: QueueEvents;
  readonly #pending = new Map<string, PendingJob>();
  readonly #calls = new Map<string, PendingCall>();
  readonly #keys: ReturnType<typeof scaleKeys>;
  readonly #timer: NodeJS.Timeout;
  #up = false;
  #since = Date.now();
  #closed = false;
  #beatAt = 0;
  /** When this server found no live worker in the workers hash (undefined: one is alive, or not looked yet). */
  #noWorkerSince: number | undefined;
  #workersAt = 0;
  #sweptAt = Date.now();

  constructor(private readonly opts: RedisBlockQueueOptions) {
    const name = queueName(opts.modelSha);
    this.#keys = scaleKeys(name);
    const conn = redisOptions(opts.url);
    // Fail fast while Redis is away (no offline queue): a tile request then gets a coded error at once.
    this.#client = new Redis({ ...conn, enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
    this.#client.on('ready', () => {
      this.#setUp(true);
      void this.#beat();
    });
    this.#client.on('close', () => this.#setUp(false));
    this.#client.on('error', () => undefined); // 'close' reports it; ioredis retries by itself
    this.#queue = new Queue(name, { connection: this.#client, prefix: QUEUE_PREFIX });
    this.#queue.on('error', () => undefined);
    this.#events = new QueueEvents(name, { connection: { ...conn, maxRetriesPerRequest: null }, prefix: QUEUE_PREFIX });
    this.#events.on('error', () => undefined);
    this.#events.on('completed', ({ jobId, returnvalue }) => void this.#onCompleted(jobId, returnvalue));
    this.#events.on('failed', ({ jobId, failedReason }) => void this.#onFailed(jobId, failedReason));
    this.#events.on('stalled', () => {
      this.counters.stalled++;
    });
    this.#timer = setInterval(() => void this.#reconcile(), RECONCILE_MS);
    this.#timer.unref();
  }

  get up(): boolean {
    return this.#up;
  }

  /** Resolves when the first connection is made (or after `ms`, with the state as it is). */
  async ready(ms = 10_000): Promise<boolean> {
    const until = Date.now() + ms;
    while (!this.#up && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    if (this.#up) await this.#events.waitUntilReady().catch(() => undefined);
    return this.#up;
  }

  async block(img: ServedImage, bx: number, by: number, waiter: Waiter, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw cancelled();
    if (!this.#up) throw this.#unavailable();
    const id = blockJobId(img.sha256, this.opts.modelSha, img.blockSize, bx, by);
    let job = this.#pending.get(id);
    if (!job) {
      if (await this.opts.shared.isBlockDone(img.sha256, this.opts.modelSha, img.blockSize, bx, by)) return;
      await this.#checkWorker();
      job = this.#pending.get(id); // created by a request that ran while this one looked
    }
    if (!job) {
      if (this.#pending.size >= this.opts.maxQueued)
        throw new ServerError(
          'SR_ERR_BUSY',
          `this server waits on ${this.#pending.size} queued blocks (limit ${this.opts.maxQueued}): retry later`,
        );
      const data: BlockJobData = {
        v: 1,
        imageSha: img.sha256,
        file: this.opts.shared.relative(img.source.path),
        low: img.percentiles.low,
        high: img.percentiles.high,
        sampled: img.percentiles.sampled,
        pcts: img.percentiles.pcts,
        modelSha: this.opts.modelSha,
        blockSize: img.blockSize,
        bx,
        by,
      };
      job = { id, data, waiters: new Map(), priority: waiter.visible ? PRIORITY.visible : PRIORITY.prefetch, checkedAt: Date.now() };
      this.#pending.set(id, job);
      void this.#add(job);
    }
    const j = job;
    return joinJob(j.waiters, waiter, signal, () => this.#leave(j, waiter));
  }

  /**
   * One engine call of a whole-image job on a front end without an engine: a worker runs it; the pixels go
   * through the shared folder. @throws SR_ERR_QUEUE_UNAVAILABLE, or the worker's error code
   */
  async engineCall(input: Float32Array, n: number, height: number, width: number, need?: Rect): Promise<LevelBatch[]> {
    if (!this.#up) throw this.#unavailable();
    await this.#checkWorker();
    const id = callId(this.opts.serverId, randomBytes(12).toString('hex'));
    const files = this.opts.shared.callFiles(id);
    const data: EngineCallData = { v: 1, modelSha: this.opts.modelSha, input: files.input, output: files.output, n, height, width, need };
    try {
      await writeCallInput(this.opts.shared.resolve(files.input), input);
      await new Promise<void>((resolve, reject) => {
        this.#calls.set(id, { data, resolve, reject });
        void this.#addCall(id, data);
      });
      this.counters.engineCalls++;
      return await readCallOutput(this.opts.shared.resolve(files.output));
    } finally {
      this.#calls.delete(id);
      await Promise.all([files.input, files.output].map((f) => rm(this.opts.shared.resolve(f), { force: true })));
      // A call that failed (no worker, cancelled) leaves no job behind; a finished one is gone already.
      if (this.#up) await Promise.all([this.#client.del(this.#keys.wanted(id)), this.#queue.remove(id)]).catch(() => undefined);
    }
  }

  dropImage(img: ServedImage): void {
    for (const job of [...this.#pending.values()]) {
      if (job.data.imageSha !== img.sha256) continue;
      for (const w of [...job.waiters.keys()]) this.#leave(job, w);
    }
  }

  /** Role-independent facts for /health: connection, queue depth, workers and their jobs. */
  async health(): Promise<object> {
    const base = {
      url: redactUrl(this.opts.url),
      status: this.#up ? 'up' : 'down',
      since: new Date(this.#since).toISOString(),
      queueName: this.#queue.name,
      waitingHere: this.#pending.size,
      counters: { ...this.counters },
    };
    if (!this.#up) return base;
    try {
      const [counts, beats] = await Promise.all([
        this.#queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed'),
        this.#client.hgetall(this.#keys.workers),
      ]);
      const now = Date.now();
      const workers = Object.entries(beats).map(([id, json]) => {
        const b = JSON.parse(json) as WorkerBeat;
        return {
          id,
          seenMsAgo: now - b.seen,
          alive: now - b.seen < WORKER_SEEN_MS,
          jobsDone: b.done,
          blocksInferred: b.inferred,
          skipped: b.skipped,
          dropped: b.dropped ?? 0,
          engineCalls: b.calls ?? 0,
          failed: b.failed,
          engine: b.engine,
          threads: b.threads,
          jobMs: b.jobMs ?? 0,
          engineMs: b.engineMs ?? 0,
        };
      });
      const depth = (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0);
      return { ...base, queue: { depth, ...counts }, workersSeen: workers.filter((w) => w.alive).length, workers };
    } catch (e) {
      return { ...base, error: (e as Error).message };
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    for (const job of [...this.#pending.values()]) for (const w of [...job.waiters.keys()]) this.#leave(job, w);
    for (const call of this.#calls.values()) call.reject(new ServerError('SR_ERR_CANCELLED', 'the server is stopping'));
    this.#closed = true;
    // Not alive any more: workers skip what only this server wanted (the removals above may not all land).
    if (this.#up) await this.#client.del(this.#keys.alive(this.opts.serverId)).catch(() => undefined);
    // Bounded: with Redis away BullMQ's close waits for a connection that does not come.
    await settleWithin(this.#events.close(), this.#up ? CLOSE_MS : 0);
    await settleWithin(this.#queue.close(), this.#up ? CLOSE_MS : 0);
    this.#client.disconnect();
  }

  async #add(job: PendingJob): Promise<void> {
    try {
      await this.#want(job.id);
      await this.#queue.add(JOB_NAME.block, job.data, {
        jobId: job.id,
        priority: job.priority,
        attempts: 3,
        backoff: { type: 'fixed', delay: 200 },
        removeOnComplete: true,
        removeOnFail: { age: 600, count: 1000 },
      });
      this.counters.added++;
      // add() keeps a job of that id that failed earlier (kept 10 min to be looked at): asked for again, it runs again.
      if ((await this.#queue.getJobState(job.id)) === 'failed')
        await (await this.#queue.getJob(job.id))?.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    } catch (e) {
      if (this.#pending.get(job.id) !== job) return;
      this.#fail(job, this.#up ? new ServerError('SR_ERR_INTERNAL', `queue: ${(e as Error).message}`) : this.#unavailable());
    }
  }

  #leave(job: PendingJob, waiter: Waiter): void {
    const pending = job.waiters.get(waiter);
    if (!pending) return;
    job.waiters.delete(waiter);
    pending.reject(cancelled());
    if (job.waiters.size === 0 && this.#pending.get(job.id) === job) {
      this.#pending.delete(job.id);
      void this.#unwant(job.id);
    }
  }

  async #addCall(id: string, data: EngineCallData): Promise<void> {
    try {
      await this.#want(id);
      await this.#queue.add(JOB_NAME.engineCall, data, {
        jobId: id,
        priority: PRIORITY.batch,
        attempts: 3,
        backoff: { type: 'fixed', delay: 200 },
        removeOnComplete: true,
        removeOnFail: { age: 600, count: 1000 },
      });
    } catch (e) {
      this.#calls.get(id)?.reject(this.#up ? new ServerError('SR_ERR_INTERNAL', `queue: ${(e as Error).message}`) : this.#unavailable());
    }
  }

  /** Says this server lives and wants the job (before it is added: a worker checks both when it takes it). */
  async #want(id: string): Promise<void> {
    const wanted = this.#keys.wanted(id);
    // The hour bounds what a set left behind costs; a server still waiting renews it (#reconcile).
    await this.#client
      .multi()
      .set(this.#keys.alive(this.opts.serverId), '1', 'PX', SERVER_TTL_MS)
      .sadd(wanted, this.opts.serverId)
      .expire(wanted, 3600)
      .exec();
  }

  async #beat(): Promise<void> {
    if (!this.#up || this.#closed) return;
    this.#beatAt = Date.now();
    await this.#client.set(this.#keys.alive(this.opts.serverId), '1', 'PX', SERVER_TTL_MS).catch(() => undefined);
  }

  /** Nobody here wants the job any more: remove it from the queue if no other server does either. */
  async #unwant(id: string): Promise<void> {
    if (!this.#up || this.#closed) return;
    try {
      const left = Number(await this.#client.eval(UNWANT, 1, this.#keys.wanted(id), this.opts.serverId));
      // remove() leaves a job a worker holds (its lock): that one finishes and is cached for later.
      if (left === 0 && (await this.#queue.remove(id)) === 1) this.counters.removed++;
    } catch {
      // Redis away: the job stays queued and is computed for nothing; nothing is lost
    }
  }

  async #onCompleted(jobId: string, result: unknown): Promise<void> {
    const job = this.#pending.get(jobId);
    // Skipped by a worker that found no live server wanting it (this server's beat came late, or it wanted
    // the job again just after the worker looked): still wanted here, so it is added again.
    const r = (typeof result === 'string' ? JSON.parse(result) : result) as Partial<BlockJobResult> | null | undefined;
    const call = this.#calls.get(jobId);
    if (call) {
      if (!r?.dropped) return call.resolve();
      this.counters.readded++;
      return this.#addCall(jobId, call.data);
    }
    if (job && r?.dropped) {
      this.counters.readded++;
      await this.#add(job);
      return;
    }
    this.counters.completed++;
    if (r?.finishedAt) this.counters.notifyMs += Math.max(0, Date.now() - r.finishedAt);
    this.#settle(jobId);
  }

  #settle(jobId: string, err?: Error): void {
    const job = this.#pending.get(jobId);
    if (!job) return;
    this.#pending.delete(jobId);
    for (const p of job.waiters.values())
      if (err) p.reject(err);
      else p.resolve();
  }

  #fail(job: PendingJob, err: Error): void {
    if (this.#pending.get(job.id) === job) this.#settle(job.id, err);
  }

  async #onFailed(jobId: string, reason: string): Promise<void> {
    if (!this.#pending.has(jobId) && !this.#calls.has(jobId)) return;
    // BullMQ reports every failed attempt; only a job that will not be tried again fails its waiters.
    const state = await this.#queue.getJobState(jobId).catch(() => 'unknown');
    if (state !== 'failed' && state !== 'unknown') return;
    this.counters.failed++;
    const { code, message } = parseFailedReason(reason);
    const err = new ServerError(isErrorCode(code) ? code : 'SR_ERR_INTERNAL', `worker: ${message}`);
    const call = this.#calls.get(jobId);
    if (call) call.reject(err);
    else this.#settle(jobId, err);
  }

  /** Priorities follow the waiters; a job gone from Redis while still wanted is found and added again. */
  async #reconcile(): Promise<void> {
    if (!this.#up) return;
    const now = Date.now();
    if (now - this.#beatAt >= SERVER_BEAT_MS) void this.#beat();
    if (now - this.#workersAt >= RECHECK_MS) await this.#lookForWorkers(now);
    if (now - this.#sweptAt >= SWEEP_MS) {
      this.#sweptAt = now;
      await this.#sweepCalls(now);
    }
    for (const job of [...this.#pending.values()]) {
      let visible = false;
      for (const w of job.waiters.keys()) if (w.visible) visible = true;
      const want = visible ? PRIORITY.visible : PRIORITY.prefetch;
      try {
        if (want !== job.priority) {
          job.priority = want;
          const j = await this.#queue.getJob(job.id);
          // lifo: the newest promotion goes first among its equals. A job a worker holds keeps its place.
          if (j && (await j.getState()) === 'prioritized') {
            await j.changePriority({ priority: want, lifo: true });
            this.counters.priorityChanges++;
          }
        }
        if (now - job.checkedAt < RECHECK_MS) continue;
        job.checkedAt = now;
        await this.#want(job.id);
        const state = await this.#queue.getJobState(job.id);
        if (state === 'completed' || (state === 'unknown' && (await this.#isDone(job)))) this.#settle(job.id);
        else if (state === 'failed') {
          const j = await this.#queue.getJob(job.id);
          void this.#onFailed(job.id, j?.failedReason ?? 'failed');
        } else if (state === 'unknown' && this.#pending.get(job.id) === job) {
          this.counters.readded++;
          await this.#add(job);
        }
      } catch {
        // Redis away mid-check: #setUp(false) fails the waiters
      }
    }
  }

  /**
   * Removes the call files of servers whose liveness key has lapsed: a server killed mid-call leaves its input
   * (and a worker may still write its output after). Files younger than a liveness period are left, so a file
   * is never taken from a server that has just written it; this server's own are its engineCall's to remove.
   */
  async #sweepCalls(now: number): Promise<void> {
    try {
      const alive = new Map<string, boolean>();
      for (const f of await this.opts.shared.listCalls()) {
        if (f.owner === undefined || f.owner === this.opts.serverId || now - f.mtimeMs < SERVER_TTL_MS) continue;
        if (!alive.has(f.owner)) alive.set(f.owner, (await this.#client.exists(this.#keys.alive(f.owner))) === 1);
        if (alive.get(f.owner)) continue;
        await rm(f.file, { force: true });
        this.counters.callFilesSwept++;
      }
    } catch {
      // Redis away mid-sweep: nothing removed on a guess; the next sweep tries again
    }
  }

  /** Reads the workers' heartbeats; with none alive for workerWaitMs, fails what waits here with SR_ERR_NO_WORKER. */
  async #lookForWorkers(now: number): Promise<void> {
    this.#workersAt = now;
    let alive: boolean;
    try {
      const beats = await this.#client.hgetall(this.#keys.workers);
      alive = Object.values(beats).some((json) => now - (JSON.parse(json) as WorkerBeat).seen < WORKER_SEEN_MS);
    } catch {
      return; // Redis away (SR_ERR_QUEUE_UNAVAILABLE says that), or a beat that is not ours
    }
    if (alive) this.#noWorkerSince = undefined;
    else this.#noWorkerSince ??= now;
    if (!this.#noWorkerYet()) return;
    for (const job of [...this.#pending.values()]) {
      this.#fail(job, this.#noWorker());
      void this.#unwant(job.id);
    }
    for (const call of this.#calls.values()) call.reject(this.#noWorker());
  }

  /** True once no worker has been alive for workerWaitMs. */
  #noWorkerYet(): boolean {
    return this.#noWorkerSince !== undefined && Date.now() - this.#noWorkerSince >= this.opts.workerWaitMs;
  }

  /** @throws SR_ERR_NO_WORKER when no worker has been alive for workerWaitMs (new work would wait forever) */
  async #checkWorker(): Promise<void> {
    if (!this.#noWorkerYet()) return;
    // A worker may have started since the last look: work resumes with its first heartbeat.
    await this.#lookForWorkers(Date.now());
    if (this.#noWorkerYet()) throw this.#noWorker();
  }

  #noWorker(): ServerError {
    this.counters.noWorker++;
    const s = ((Date.now() - this.#noWorkerSince!) / 1000).toFixed(0);
    return new ServerError(
      'SR_ERR_NO_WORKER',
      `no worker of queue ${this.#queue.name} on ${redactUrl(this.opts.url)} has been alive (a heartbeat within ${WORKER_SEEN_MS / 1000} s) ` +
        `for ${s} s: start \`phasesr worker\` with this server's --redis, --shared-dir and model, or retry when /health lists a live worker`,
    );
  }

  #isDone(job: PendingJob): Promise<boolean> {
    const d = job.data;
    return this.opts.shared.isBlockDone(d.imageSha, d.modelSha, d.blockSize, d.bx, d.by);
  }

  #setUp(up: boolean): void {
    if (up === this.#up || this.#closed) return;
    const was = this.#since;
    this.#up = up;
    this.#since = Date.now();
    const url = redactUrl(this.opts.url);
    if (up) {
      // After an outage (Redis restarted empty) the workers need a beat to show up again: start the wait afresh.
      this.#noWorkerSince = undefined;
      this.#workersAt = 0;
      this.opts.log(
        `redis: connected to ${url}${was && this.#everUp ? ` again after ${((this.#since - was) / 1000).toFixed(1)} s` : ''}; queue ${this.#queue.name}`,
      );
      this.#everUp = true;
      return;
    }
    this.opts.log(
      `redis: lost the connection to ${url}: tile requests that need the model get SR_ERR_QUEUE_UNAVAILABLE until it is back (reconnecting)`,
    );
    // Jobs may be gone with Redis (no persistence): fail the waiters now rather than leave them hanging.
    for (const job of [...this.#pending.values()]) this.#fail(job, this.#unavailable());
    for (const call of this.#calls.values()) call.reject(this.#unavailable());
  }

  #everUp = false;

  #unavailable(): ServerError {
    this.counters.unavailable++;
    return new ServerError(
      'SR_ERR_QUEUE_UNAVAILABLE',
      `the job queue at ${redactUrl(this.opts.url)} cannot be reached since ${new Date(this.#since).toISOString()}: retry when /health says redis is up`,
    );
  }
}

function cancelled(): ServerError {
  return new ServerError('SR_ERR_CANCELLED', 'request cancelled');
}
