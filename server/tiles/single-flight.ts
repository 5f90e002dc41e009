// Concurrent calls for the same key share one computation (two clients asking for one tile compute it once).
export class SingleFlight<T> {
  readonly #pending = new Map<string, Promise<T>>();

  run(key: string, fn: () => Promise<T>): Promise<T> {
    let p = this.#pending.get(key);
    if (!p) {
      p = fn().finally(() => this.#pending.delete(key));
      this.#pending.set(key, p);
    }
    return p;
  }

  get size(): number {
    return this.#pending.size;
  }
}
