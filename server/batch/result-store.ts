// Results of the HTTP one-shot endpoint, downloadable at /api/v1/results/<id>.tif until they expire: the
// newest `maxCount` files within `maxBytes` are kept, each for at most `ttlMs`. Ids are 128 random bits,
// so a result URL cannot be guessed from another.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';

export interface StoredResult {
  id: string;
  path: string;
  bytes: number;
  created: number;
  /** Suggested download name (Content-Disposition). */
  name: string;
}

export interface ResultStoreLimits {
  maxCount: number;
  maxBytes: number;
  ttlMs: number;
}

export const RESULT_LIMITS: ResultStoreLimits = { maxCount: 32, maxBytes: 4 * 1024 ** 3, ttlMs: 60 * 60 * 1000 };

export const RESULT_ID = /^[0-9a-f]{32}$/;

export class ResultStore {
  /** Oldest first (insertion order). */
  readonly #results = new Map<string, StoredResult>();

  /** `dir` is created on the first result. */
  constructor(
    readonly dir: string,
    readonly limits: ResultStoreLimits = RESULT_LIMITS,
  ) {}

  /** Moves `file` into the store; older results beyond the limits are deleted. */
  async add(file: string, name: string): Promise<StoredResult> {
    const id = randomBytes(16).toString('hex');
    const dest = path.join(this.dir, `${id}.tif`);
    await mkdir(this.dir, { recursive: true });
    await rename(file, dest);
    const r: StoredResult = { id, path: dest, bytes: (await stat(dest)).size, created: Date.now(), name };
    this.#results.set(id, r);
    await this.#evict(id);
    return r;
  }

  /** The result when it exists and has not expired. */
  async get(id: string): Promise<StoredResult | undefined> {
    await this.#evict();
    return this.#results.get(id);
  }

  get size(): number {
    return this.#results.size;
  }

  /** `keep`: the result just added, kept even when it alone is over maxBytes (its URL is being handed out). */
  async #evict(keep?: string): Promise<void> {
    const now = Date.now();
    let total = 0;
    for (const r of this.#results.values()) total += r.bytes;
    // A download already streaming keeps its open file after the unlink.
    for (const r of [...this.#results.values()]) {
      const expired = now - r.created > this.limits.ttlMs;
      if (!expired && this.#results.size <= this.limits.maxCount && total <= this.limits.maxBytes) break;
      if (r.id === keep) continue;
      this.#results.delete(r.id);
      total -= r.bytes;
      await rm(r.path, { force: true });
    }
  }
}
