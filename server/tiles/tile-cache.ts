// Tile caches: encoded tiles in a size-bounded LRU (what is sent again and again), float tiles in a second
// LRU (siblings an inference produced that nobody asked for yet), and optionally float tiles on disk
// (--cache-dir), keyed by image hash, model hash and tile address, so a restart does not recompute them.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { LRUCache } from 'lru-cache';

import { ServerError } from '../errors';

import type { EncodedTile, FloatTile } from './float-tile';

export interface TileCacheOptions {
  encodedBytes: number;
  floatBytes: number;
  dir?: string;
  /**
   * true: a failed disk write throws (SR_ERR_CACHE_WRITE). A Redis worker's only output is the disk cache, so a
   * tile it could not write must fail its job; a single server keeps the tile in memory and only logs.
   */
  diskRequired?: boolean;
  log: (line: string) => void;
}

/** Where a tile lives: image and model hashes plus layer/level/x/y (model '' for source levels). */
export interface TileAddress {
  imageSha: string;
  modelSha: string;
  layer: string;
  level: number;
  x: number;
  y: number;
}

export function addressKey(a: TileAddress): string {
  return `${a.imageSha.slice(0, 16)}/${a.modelSha.slice(0, 16) || 'source'}/${a.layer}/${a.level}/${a.x}/${a.y}`;
}

export class TileCache {
  readonly encoded: LRUCache<string, EncodedTile>;
  readonly floats: LRUCache<string, FloatTile>;

  constructor(private readonly opts: TileCacheOptions) {
    this.encoded = new LRUCache<string, EncodedTile>({ maxSize: opts.encodedBytes, sizeCalculation: (t) => t.payload.byteLength + 64 });
    this.floats = new LRUCache<string, FloatTile>({ maxSize: opts.floatBytes, sizeCalculation: (t) => t.data.byteLength + 64 });
  }

  /** Float tile from memory, else from disk (then kept in memory). */
  async getFloat(a: TileAddress): Promise<FloatTile | undefined> {
    const key = addressKey(a);
    const hit = this.floats.get(key);
    if (hit || !this.opts.dir) return hit;
    const t = await this.#readDisk(a);
    if (t) this.floats.set(key, t);
    return t;
  }

  /** Keeps a float tile in memory and, with a cache dir, writes it to disk (errors are logged, or thrown with diskRequired). */
  async putFloat(a: TileAddress, t: FloatTile): Promise<void> {
    this.floats.set(addressKey(a), t);
    if (!this.opts.dir) return;
    try {
      await this.#writeDisk(a, t);
    } catch (e) {
      this.opts.log(`disk cache: ${(e as Error).message}`);
      // The message reaches clients: the errno only, the path stays in this process's log.
      if (this.opts.diskRequired)
        throw new ServerError(
          'SR_ERR_CACHE_WRITE',
          `a tile could not be written into the tile cache (${(e as NodeJS.ErrnoException).code ?? 'error'}; the writer's log names the file)`,
          { cause: e },
        );
    }
  }

  #file(a: TileAddress): string {
    return path.join(this.opts.dir!, a.imageSha, a.modelSha || 'source', a.layer, String(a.level), `${a.x}_${a.y}.f32`);
  }

  async #readDisk(a: TileAddress): Promise<FloatTile | undefined> {
    let buf: Buffer;
    try {
      buf = await readFile(this.#file(a));
    } catch {
      return undefined;
    }
    if (buf.byteLength < 8) return undefined;
    const width = buf.readUInt32LE(0);
    const height = buf.readUInt32LE(4);
    if (buf.byteLength !== 8 + width * height * 4) return undefined; // truncated: recompute
    const data = new Float32Array(width * height);
    new Uint8Array(data.buffer).set(buf.subarray(8));
    return { width, height, data };
  }

  async #writeDisk(a: TileAddress, t: FloatTile): Promise<void> {
    const file = this.#file(a);
    await mkdir(path.dirname(file), { recursive: true });
    const head = Buffer.alloc(8);
    head.writeUInt32LE(t.width, 0);
    head.writeUInt32LE(t.height, 4);
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.partial`;
    await writeFile(tmp, Buffer.concat([head, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)]));
    await rename(tmp, file); // atomic: a reader never sees half a tile
  }
}
