// Wall time during which at least one piece of work was in flight (overlapping pieces count once), so a
// process's engine or job time can be set against the elapsed time: what is left is overhead (bench:scale).
export class BusyClock {
  #inFlight = 0;
  #since = 0;
  #ms = 0;

  /** Milliseconds busy so far, including the piece in flight now. */
  get ms(): number {
    return this.#ms + (this.#inFlight > 0 ? performance.now() - this.#since : 0);
  }

  /** Times `work` (joining any already in flight). */
  async time<T>(work: () => Promise<T>): Promise<T> {
    if (this.#inFlight++ === 0) this.#since = performance.now();
    try {
      return await work();
    } finally {
      if (--this.#inFlight === 0) this.#ms += performance.now() - this.#since;
    }
  }
}
