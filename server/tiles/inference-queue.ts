// The one inference queue shared by every connection. Jobs are keyed: a second request for a queued or
// running job waits on it instead of adding work (dedupe across clients). The next batch starts with a job
// of the most urgent class present (the first blocks of a cold view, then visible, then prefetch); within it clients take turns (the client
// served longest ago goes first, so one that floods new requests cannot starve the others), and each client's
// newest job is its turn, unless one of its requests has waited through ageAfterCalls engine calls: then its
// oldest such request goes first, so a tile that stays in view while its viewer pans on is not starved by the
// newer ones. The batch then takes queued jobs with the same batch key (same LR window size) into the same
// engine call, unless opts.merge groups it with queued neighbours into one window. A waiter's abort removes
// it; a queued job nobody waits for is dropped. The queue is bounded: beyond maxQueued jobs, submit throws
// SR_ERR_BUSY.
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
  /** Engine calls a request may wait before it goes ahead of its client's newer ones (default AGE_AFTER_CALLS). */
  ageAfterCalls?: number;
  /**
   * Spatial merging (TileService): `pick` chooses, among the queued jobs as urgent as `first`, the others to
   * run with it as ONE window (none: no merge), and `run` runs such a group, `first` first.
   */
  merge?: { pick: (first: T, queued: T[]) => T[]; run: (items: T[]) => Promise<(R | Error)[]> };
}

/**
 * Newest first serves what a viewer looks at now; past this many engine calls a request is served oldest
 * first. 20: in a model of the soak's viewers (bench/soak.bench.ts) it cut the longest wait by a third
 * against newest first, as much as oldest first always, while a fresh view still comes first.
 */
export const AGE_AFTER_CALLS = 20;

export class InferenceQueue<T, R> {
  readonly #jobs = new Map<string, Job<T, R>>();
  #queued = 0;
  #running = 0;
  #pumping = false;
  /** When each client with queued work was last served (a tick count); the smallest goes next. */
  readonly #lastServed = new Map<string, number>();
  #tick = 0;
  /** The tick at which each waiter joined its first job (its age is counted in engine calls since). */
  readonly #since = new WeakMap<Waiter, number>();

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
    if (!this.#since.has(waiter)) this.#since.set(waiter, this.#tick);
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
        const { batch, merged } = this.#nextBatch();
        if (batch.length === 0) break;
        for (const j of batch) j.running = true;
        this.#queued -= batch.length;
        this.#running += batch.length;
        try {
          const items = batch.map((j) => j.item);
          const results = await (merged ? this.opts.merge!.run(items) : this.opts.run(items));
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

  #nextBatch(): { batch: Job<T, R>[]; merged: boolean } {
    const queued = [...this.#jobs.values()].filter((j) => !j.running);
    if (queued.length === 0) return { batch: [], merged: false };
    const top = Math.max(...queued.map((j) => this.#rank(j)[0]));
    // Each client's turn: its oldest aged job in the most urgent class, else its newest.
    const turns = new Map<string, { job: Job<T, R>; order: Order }>();
    for (const j of queued) {
      for (const w of j.waiters.keys()) {
        if (urgency(j, w) < top) continue;
        const t = turns.get(w.client);
        const order = this.#order(w);
        if (!t || compare(order, t.order) > 0) turns.set(w.client, { job: j, order });
      }
    }
    for (const c of this.#lastServed.keys()) if (!turns.has(c)) this.#lastServed.delete(c);
    let pick: { client: string; job: Job<T, R>; order: Order } | undefined;
    for (const [client, t] of turns) {
      const served = this.#lastServed.get(client) ?? -1;
      const best = pick ? (this.#lastServed.get(pick.client) ?? -1) : Infinity;
      if (served < best || (served === best && compare(t.order, pick!.order) > 0)) pick = { client, ...t };
    }
    const first = pick!.job;
    const group = this.#mergeGroup(first, queued);
    const ranked = queued.map((j) => ({ j, r: this.#rank(j) })).sort((a, b) => compare(b.r, a.r));
    const mates = ranked.filter(({ j }) => j !== first && j.batchKey === first.batchKey).map(({ j }) => j);
    const batch = group.length > 1 ? group : [first, ...mates].slice(0, Math.max(1, this.opts.batch));
    const tick = ++this.#tick;
    for (const j of batch) for (const w of j.waiters.keys()) this.#lastServed.set(w.client, tick);
    return { batch, merged: group.length > 1 };
  }

  /** The jobs merged with `first` into one window (opts.merge), drawn from those of its urgency class. */
  #mergeGroup(first: Job<T, R>, queued: Job<T, R>[]): Job<T, R>[] {
    if (!this.opts.merge) return [first];
    const cls = this.#rank(first)[0];
    const byItem = new Map(queued.filter((j) => j !== first && this.#rank(j)[0] === cls).map((j) => [j.item, j]));
    const items = this.opts.merge.pick(first.item, [...byItem.keys()]);
    return [first, ...items.flatMap((it) => byItem.get(it) ?? [])];
  }

  /** One waiter's place among its client's requests: aged ones first, oldest first; then newest first. */
  #order(w: Waiter): Order {
    const waited = this.#tick - (this.#since.get(w) ?? this.#tick);
    return waited >= (this.opts.ageAfterCalls ?? AGE_AFTER_CALLS) ? [1, -w.seq] : [0, w.seq];
  }

  /** A job's urgency: [its most urgent waiter's class, then the best place of its waiters]. */
  #rank(j: Job<T, R>): [number, number, number] {
    let cls = 0;
    let order: Order = [-1, 0];
    for (const w of j.waiters.keys()) {
      cls = Math.max(cls, urgency(j, w));
      const o = this.#order(w);
      if (compare(o, order) > 0) order = o;
    }
    return [cls, ...order];
  }
}

/** [1, -seq] for an aged waiter (oldest first), [0, seq] otherwise (newest first): larger goes first. */
type Order = [number, number];

/** How urgent a job is for one waiter: 2 a cold view's first block, 1 visible, 0 prefetch. */
function urgency(j: { first: boolean }, w: Waiter): number {
  return w.visible ? (j.first ? 2 : 1) : 0;
}

/** Lexicographic order of two keys of one length. */
function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

function cancelled(): ServerError {
  return new ServerError('SR_ERR_CANCELLED', 'request cancelled');
}
