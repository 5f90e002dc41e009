// The server's one concurrency limiter: at most `maxRunning` tasks at once, first come first served, with
// a bound on the waiting line (SR_ERR_BUSY beyond it) and waiters that leave when their signal aborts.
// Whole-image jobs use all of it (one at a time: two at once on a shared engine only make both slower and
// starve tile work more); large source reads use only the slots. Hand-written (40 lines): p-limit has no
// per-task abort and no bound on the line, and p-queue, which has the abort, would be a new dependency for
// this and still need the bound checked outside it.
import { ServerError } from './errors';

export class Limiter {
  #running = 0;
  readonly #waiting: { start: () => void }[] = [];

  constructor(
    readonly maxRunning: number,
    readonly maxWaiting = Number.POSITIVE_INFINITY,
  ) {}

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Runs `fn` when a slot is free. @throws SR_ERR_BUSY when the line is full; the signal's reason when aborted while waiting */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    if (this.#running >= this.maxRunning) {
      if (this.#waiting.length >= this.maxWaiting)
        throw new ServerError('SR_ERR_BUSY', `${this.#waiting.length} jobs are already waiting; retry later`);
      await new Promise<void>((resolve, reject) => {
        // The finishing task hands its slot over (running stays counted), so no newcomer can slip in between.
        const entry = {
          start: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        const onAbort = () => {
          const i = this.#waiting.indexOf(entry);
          if (i >= 0) this.#waiting.splice(i, 1);
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.#waiting.push(entry);
      });
    } else {
      this.#running++;
    }
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next.start();
      else this.#running--;
    }
  }
}
