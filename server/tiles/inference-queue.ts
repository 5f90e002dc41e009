// The one inference queue shared by every connection. Jobs are keyed: a second request for a queued or
// running job waits on it instead of adding work (dedupe across clients). The next batch starts with a job
// of the most urgent class present (the first blocks of a cold view, then visible, then prefetch); within it clients take turns (the client
// served longest ago goes first, so one that floods new requests cannot starve the others), and each client's
// newest job is its turn. The batch then takes queued jobs with the same batch key (same LR window size)
// into the same engine call. A waiter's abort removes it; a queued job nobody waits for is dropped. The queue
// is bounded: beyond maxQueued jobs, submit throws SR_ERR_BUSY.
import { setImmediate as yieldToLoop } from 'node:timers/promises';

import { ServerError } from '../errors';

/** Who waits for a job, and how urgently. Mutable: a viewport hint may promote prefetch to visible. */
export interface Waiter {
  visible: boolean;
  /** Larger = newer = served first among one client's requests. */
  seq: number;
  /** Who asks (a connection, an HTTP peer): clients take turns. */
  client: string;
}

/** How a job's result reaches one waiter. */
export interface Pending<R> {
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

/**
 * Adds `waiter` to a job's waiters and returns what it will get. If `signal` aborts first, `leave` takes it
 * off the job (a queued job nobody waits for may then go). Shared by this queue and the Redis block queue.
 */
export function joinJob<R>(
  waiters: Map<Waiter, Pending<R>>,
  waiter: Waiter,
  signal: AbortSignal | undefined,
  leave: () => void,
): Promise<R> {
  const p = new Promise<R>((resolve, reject) => waiters.set(waiter, { resolve, reject }));
  if (signal) {
    signal.addEventListener('abort', leave, { once: true });
    const off = (): void => signal.removeEventListener('abort', leave);
    void p.then(off, off);
  }
  return p;
}

interface Job<T, R> {
  key: string;
  batchKey: string;
  item: T;
  waiters: Map<Waiter, Pending<R>>;
  running: boolean;
  /** One of the first blocks of a cold view: ahead of every other visible job (TileService). */
  first: boolean;
}

export interface InferenceQueueOptions<T, R> {
  maxQueued: number;
  batch: number;
  /** Runs a batch (one engine call); returns one result per item, in order: an Error fails that item only. */
  run: (items: T[]) => Promise<(R | Error)[]>;
}

export class InferenceQueue<T, R> {
  readonly #jobs = new Map<string, Job<T, R>>();
  #queued = 0;
  #running = 0;
  #pumping = false;
  /** When each client with queued work was last served (a tick count); the smallest goes next. */
  readonly #lastServed = new Map<string, number>();
  #tick = 0;

  constructor(private readonly opts: InferenceQueueOptions<T, R>) {}

  get queued(): number {
    return this.#queued;
  }

  get running(): number {
    return this.#running;
  }

  /**
   * Waits for job `key` (created from `make()` unless queued or running already). A `first` job goes ahead
   * of other visible jobs while a visible waiter waits for it.
   * @throws ServerError SR_ERR_BUSY (queue full), SR_ERR_CANCELLED (signal aborted before the job finished)
   */
  submit(key: string, batchKey: string, make: () => T, waiter: Waiter, signal?: AbortSignal, first = false): Promise<R> {
    if (signal?.aborted) return Promise.reject(cancelled());
    let job = this.#jobs.get(key);
    if (!job) {
      if (this.#queued >= this.opts.maxQueued) {
        return Promise.reject(new ServerError('SR_ERR_BUSY', `the inference queue is full (${this.opts.maxQueued} jobs): retry later`));
      }
      job = { key, batchKey, item: make(), waiters: new Map(), running: false, first };
      this.#jobs.set(key, job);
      this.#queued++;
    }
    const j = job;
    const p = joinJob(j.waiters, waiter, signal, () => this.#leave(j, waiter));
    queueMicrotask(() => void this.#pump());
    return p;
  }

  /** Rejects every waiter of queued jobs whose key starts with `prefix` (an image closed). */
  dropPrefix(prefix: string): void {
    for (const job of [...this.#jobs.values()]) {
      if (job.running || !job.key.startsWith(prefix)) continue;
      for (const w of [...job.waiters.keys()]) this.#leave(job, w);
    }
  }

  #leave(job: Job<T, R>, waiter: Waiter): void {
    const pending = job.waiters.get(waiter);
    if (!pending) return;
    job.waiters.delete(waiter);
    pending.reject(cancelled());
    if (!job.running && job.waiters.size === 0 && this.#jobs.get(job.key) === job) {
      this.#jobs.delete(job.key);
      this.#queued--;
    }
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (;;) {
        const batch = this.#nextBatch();
        if (batch.length === 0) break;
        for (const j of batch) j.running = true;
        this.#queued -= batch.length;
        this.#running += batch.length;
        try {
          const results = await this.opts.run(batch.map((j) => j.item));
          batch.forEach((j, i) => {
            const r = results[i]!;
            for (const p of j.waiters.values())
              if (r instanceof Error) p.reject(r);
              else p.resolve(r);
          });
        } catch (e) {
          for (const j of batch) for (const p of j.waiters.values()) p.reject(e);
        } finally {
          for (const j of batch) this.#jobs.delete(j.key);
          this.#running -= batch.length;
        }
        // Let socket I/O (new requests, cancels, sends) run between engine calls.
        await yieldToLoop();
      }
    } finally {
      this.#pumping = false;
    }
  }

  #nextBatch(): Job<T, R>[] {
    const queued = [...this.#jobs.values()].filter((j) => !j.running);
    if (queued.length === 0) return [];
    const top = Math.max(...queued.map((j) => rank(j)[0]));
    // Each client's turn: its newest job in the most urgent class.
    const turns = new Map<string, { job: Job<T, R>; seq: number }>();
    for (const j of queued) {
      for (const w of j.waiters.keys()) {
        if (urgency(j, w) < top) continue;
        const t = turns.get(w.client);
        if (!t || w.seq > t.seq) turns.set(w.client, { job: j, seq: w.seq });
      }
    }
    for (const c of this.#lastServed.keys()) if (!turns.has(c)) this.#lastServed.delete(c);
    let pick: { client: string; job: Job<T, R>; seq: number } | undefined;
    for (const [client, t] of turns) {
      const served = this.#lastServed.get(client) ?? -1;
      const best = pick ? (this.#lastServed.get(pick.client) ?? -1) : Infinity;
      if (served < best || (served === best && t.seq > pick!.seq)) pick = { client, ...t };
    }
    const first = pick!.job;
    queued.sort((a, b) => compare(rank(b), rank(a)));
    const batch = [first, ...queued.filter((j) => j !== first && j.batchKey === first.batchKey)].slice(0, Math.max(1, this.opts.batch));
    const tick = ++this.#tick;
    for (const j of batch) for (const w of j.waiters.keys()) this.#lastServed.set(w.client, tick);
    return batch;
  }
}

/** How urgent a job is for one waiter: 2 a cold view's first block, 1 visible, 0 prefetch. */
function urgency(j: { first: boolean }, w: Waiter): number {
  return w.visible ? (j.first ? 2 : 1) : 0;
}

/** A job's urgency: [its most urgent waiter's class, newest waiter]. */
function rank(j: { first: boolean; waiters: Map<Waiter, unknown> }): [number, number] {
  let cls = 0;
  let seq = -Infinity;
  for (const w of j.waiters.keys()) {
    cls = Math.max(cls, urgency(j, w));
    if (w.seq > seq) seq = w.seq;
  }
  return [cls, seq];
}

function compare(a: [number, number], b: [number, number]): number {
  return a[0] - b[0] || a[1] - b[1];
}

function cancelled(): ServerError {
  return new ServerError('SR_ERR_CANCELLED', 'request cancelled');
}
