// Batch and one-shot jobs run one at a time, first come first served: a whole-image job is many engine
// calls, and running two at once on a shared engine only makes both slower and starves tile work more.
// Hand-written (30 lines) because the queue must drop a waiter when its client cancels or disconnects and
// refuse beyond a bound with SR_ERR_BUSY; p-limit has no abort and p-queue would be a new dependency for this.
import { ServerError } from '../errors';

export class JobQueue {
  #running = 0;
  readonly #waiting: { start: () => void }[] = [];

  constructor(readonly maxRunning: number, readonly maxWaiting: number) {}

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Runs `fn` when a slot is free. @throws SR_ERR_BUSY when the queue is full; the signal's reason when aborted while waiting */
  async run<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    signal.throwIfAborted();
    if (this.#running >= this.maxRunning) {
      if (this.#waiting.length >= this.maxWaiting) throw new ServerError('SR_ERR_BUSY', `${this.#waiting.length} jobs are already waiting; retry later`);
      await new Promise<void>((resolve, reject) => {
        // The finishing job hands its slot over (running stays counted), so no newcomer can slip in between.
        const entry = { start: () => { signal.removeEventListener('abort', onAbort); resolve(); } };
        const onAbort = () => {
          const i = this.#waiting.indexOf(entry);
          if (i >= 0) this.#waiting.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
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
