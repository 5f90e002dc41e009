// Jobs of the HTTP one-shot endpoint (/api/v1/sr), so that every GET on it is safe to repeat: ImageJ's
// File.openUrlAsString opens each URL twice (once for the length, then for the body), and each open used to
// compute the whole image again. A job is keyed by what it computes (the resolved file with its size and
// modification time, and the parameters); an identical request while the job runs, or after it finished
// while its result is kept, joins it. A client that cannot wait on one long request submits (`wait=0`) and
// polls the job's status URL, which also carries the progress. A job that nobody waits for or polls any more
// is cancelled, so a closed Fiji or a killed script frees the server.
import { randomBytes } from 'node:crypto';

import { ServerError, toWireError } from '../errors';
import type { ErrorCode } from '../protocol';

export type OneShotState = 'queued' | 'running' | 'done' | 'error';

export interface OneShotLimits {
  /** A queued or running job no request waits on is cancelled this long after its last poll. */
  abandonMs: number;
  /** Finished jobs stay pollable (and joinable) this long. */
  keepMs: number;
  /** Job records kept at most; the oldest finished ones go first. */
  maxJobs: number;
}

export const ONE_SHOT_LIMITS: OneShotLimits = { abandonMs: 60_000, keepMs: 10 * 60_000, maxJobs: 256 };

/** What a job's run reports while it computes. */
export interface OneShotProgress {
  started(): void;
  progress(done: number, total: number): void;
}

export class OneShotJob<T> {
  /** 128 random bits: the status URL of one client's job cannot be guessed from another. */
  readonly id = randomBytes(16).toString('hex');
  state: OneShotState = 'queued';
  done = 0;
  total = 0;
  outcome: T | undefined;
  error: { code: ErrorCode; message: string } | undefined;
  /** Resolves when the job is done or failed (never rejects). */
  readonly finished: Promise<void>;
  finishedAt = 0;
  lastSeen = Date.now();
  /** Requests waiting on the job now. */
  holders = 0;
  /** Somebody submitted it to poll: then only abandonment cancels it, not a waiting request leaving. */
  polled = false;
  readonly stop = new AbortController();
  #finish!: () => void;

  constructor(readonly key: string | undefined) {
    this.finished = new Promise((resolve) => {
      this.#finish = resolve;
    });
  }

  get active(): boolean {
    return this.state === 'queued' || this.state === 'running';
  }

  /** Ends the job once; later calls are ignored. */
  settle(outcome: T | undefined, error?: unknown): void {
    if (!this.active) return;
    if (error === undefined) {
      this.state = 'done';
      this.outcome = outcome;
    } else {
      this.state = 'error';
      const w = toWireError(error);
      this.error = { code: w.code, message: w.message };
    }
    this.finishedAt = Date.now();
    this.#finish();
  }
}

export class OneShotJobs<T> {
  readonly #byId = new Map<string, OneShotJob<T>>();
  readonly #byKey = new Map<string, OneShotJob<T>>();
  readonly #timer: NodeJS.Timeout;

  /**
   * @param reusable whether a finished job's outcome may still be handed out (its result file still kept)
   * @param log where unexpected errors of a job's run are written (with the stack)
   */
  constructor(
    private readonly reusable: (outcome: T) => Promise<boolean>,
    private readonly log: (line: string) => void,
    readonly limits: OneShotLimits = ONE_SHOT_LIMITS,
  ) {
    this.#timer = setInterval(() => this.#sweep(), Math.min(5000, limits.abandonMs / 2));
    this.#timer.unref();
  }

  /**
   * The job computing `key` (still running, or done with its outcome still reusable), or a new one running
   * `run`. `key` undefined: never joined (an upload). The run's signal is aborted when the job is abandoned.
   */
  async submit(
    key: string | undefined,
    run: (signal: AbortSignal, p: OneShotProgress) => Promise<T>,
  ): Promise<{ job: OneShotJob<T>; joined: boolean }> {
    const old = key === undefined ? undefined : this.#byKey.get(key);
    if (old && (old.active || (old.state === 'done' && (await this.reusable(old.outcome!))))) {
      old.lastSeen = Date.now();
      return { job: old, joined: true };
    }
    const job = new OneShotJob<T>(key);
    this.#byId.set(job.id, job);
    if (key !== undefined) this.#byKey.set(key, job);
    this.#trim();
    const progress: OneShotProgress = {
      started: () => {
        job.state = 'running';
      },
      progress: (done, total) => {
        job.state = 'running';
        job.done = done;
        job.total = total;
      },
    };
    run(job.stop.signal, progress).then(
      (r) => job.settle(r),
      (e: unknown) => {
        if (toWireError(e).internal) this.log(`one-shot job ${job.id}: ${(e as Error)?.stack ?? String(e)}`);
        job.settle(undefined, e);
        // A failure is not remembered for identical requests: a retry computes again (the cause may be gone).
        if (job.key !== undefined && this.#byKey.get(job.key) === job) this.#byKey.delete(job.key);
      },
    );
    return { job, joined: false };
  }

  /** A job by id (a poll: it keeps the job from being abandoned). */
  poll(id: string): OneShotJob<T> | undefined {
    const job = this.#byId.get(id);
    if (job) job.lastSeen = Date.now();
    return job;
  }

  /** A request waits on the job until the returned function is called; the last one leaving a job nobody polls cancels it. */
  hold(job: OneShotJob<T>): () => void {
    job.holders++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      job.holders--;
      job.lastSeen = Date.now();
      if (job.holders === 0 && !job.polled && job.active) this.#cancel(job, 'the client went away');
    };
  }

  get size(): number {
    return this.#byId.size;
  }

  close(): void {
    clearInterval(this.#timer);
    for (const job of this.#byId.values()) if (job.active) this.#cancel(job, 'the server is closing');
  }

  #cancel(job: OneShotJob<T>, why: string): void {
    const e = new ServerError('SR_ERR_CANCELLED', `job cancelled: ${why}`);
    job.stop.abort(e);
    job.settle(undefined, e);
    if (job.key !== undefined && this.#byKey.get(job.key) === job) this.#byKey.delete(job.key);
  }

  #sweep(): void {
    const now = Date.now();
    for (const job of [...this.#byId.values()]) {
      if (job.active && job.holders === 0 && now - job.lastSeen > this.limits.abandonMs) {
        this.#cancel(job, `nobody polled it for ${Math.round(this.limits.abandonMs / 1000)} s`);
      } else if (!job.active && now - job.finishedAt > this.limits.keepMs) {
        this.#forget(job);
      }
    }
  }

  /** Beyond maxJobs records, the oldest finished jobs are forgotten (active ones are bounded by the job queue). */
  #trim(): void {
    for (const job of this.#byId.values()) {
      if (this.#byId.size <= this.limits.maxJobs) return;
      if (!job.active) this.#forget(job);
    }
  }

  #forget(job: OneShotJob<T>): void {
    this.#byId.delete(job.id);
    if (job.key !== undefined && this.#byKey.get(job.key) === job) this.#byKey.delete(job.key);
  }
}
