// Tile address (image, layer, level, x, y, encoding) -> bytes. Source levels come from the image, levels
// above native from the model through the shared inference queue: one LR block's inference yields its 2x,
// 4x and 8x tiles together, and all of them are cached. Every step is deduplicated across requests.
// The first visible tile of a cold view (the engine idle) runs alone as blocks of firstBlockSize (32): a 64x64
// window instead of 96x96. Only that tile: the rest of its region comes from the region's serving block as
// usual, so the viewport's other blocks stay one rectangle and run as one window (mergeRectangle,
// ServerOptions.mergeBlocks). That recomputes the first tile's quarter of the region, a deliberate trade
// (measured, docs/benchmarks/server-cold.md): splitting the region into four small blocks, each run alone,
// cost ~4 x 110 ms per viewport and left a hole in the merged rectangle. With merging on, a visible tile whose
// serving block sticks out of the connection's viewport hint (an 8x tile in the bottom row of a 1920x1080
// view: half its 64 block is below the view) comes from a block of its own size instead, which merges into
// the same window: the window covers what the view needs, not whole serving blocks (14% fewer pixels for
// that view). Any mix of sizes gives the same pixels (models/tiling.ts); the cache keeps the first copy of a
// tile (block-inference.ts).
import type { SuperResBackend } from '../../models';
import { copyRect, pieceRect, type Rect } from '../../models/tiling';
import { ServerError } from '../errors';
import type { ServedImage } from '../images/served-image';
import { tileInView, tileRect, type Area, type Encoding, type Layer } from '../protocol';
import type { ServerStats } from '../stats';
import { bicubicTile } from './bicubic-tiles';
import { encodeTile } from './encode';
import { inferBlocks, inferMerged, pieceAddress, tileAddress, type BlockJob, type BlockResult } from './block-inference';
import type { EncodedTile, FloatTile } from './float-tile';
import { InferenceQueue, type Waiter } from './inference-queue';
import { SingleFlight } from './single-flight';
import { sourceTile } from './source-tiles';
import { addressKey, type TileCache, type TileAddress } from './tile-cache';

export interface TileServiceOptions {
  engine: SuperResBackend;
  modelSha: string;
  halo: number;
  cache: TileCache;
  stats: ServerStats;
  maxQueued: number;
  batch: number;
  /** LR block side for the first tile of a cold view (ServerOptions.firstBlockSize); 0 or >= the block size: off. */
  firstBlockSize?: number;
  /** Most serving blocks run as one window (ServerOptions.mergeBlocks); 1 or absent: off. */
  mergeBlocks?: number;
  /** With --redis: blocks go to the shared queue instead of this process's engine. */
  remote?: RemoteBlocks;
}

/** How a request waits: its queue priority and what cancels it. */
export interface TileContext {
  waiter: Waiter;
  signal?: AbortSignal;
  /** The requester's latest viewport hint for this image (WebSocket `viewport`): `area` in pixels of `level`. */
  view?: { level: number; area: Area };
}

/**
 * Block work done elsewhere (the Redis queue, server/scale/): resolves once the block's tiles are in the
 * shared tile cache, where this service then reads them.
 */
export interface RemoteBlocks {
  /** @throws ServerError SR_ERR_CANCELLED, SR_ERR_QUEUE_UNAVAILABLE, or the worker's error code */
  block(img: ServedImage, bx: number, by: number, waiter: Waiter, signal?: AbortSignal): Promise<void>;
  /** Drops queued work of a closed image. */
  dropImage(img: ServedImage): void;
}

function span(a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

/** One inference block: its grid (side `size`) and index; `first`: a cold view's first tile (runs alone, first). */
interface BlockRef {
  size: number;
  bx: number;
  by: number;
  first?: boolean;
}

/** The blocks of side `size` whose cores overlap LR rectangle `lr`. */
function cover(lr: Rect, size: number): BlockRef[] {
  const bxs = span(Math.floor(lr.x / size), Math.ceil((lr.x + lr.w) / size) - 1);
  const bys = span(Math.floor(lr.y / size), Math.ceil((lr.y + lr.h) / size) - 1);
  return bys.flatMap((by) => bxs.map((bx) => ({ size, bx, by })));
}

/** A block's place on the grid of the smallest block side in play, `unit` LR px: cells [x0, x1) x [y0, y1). */
interface Cells {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * The queued blocks of `first`'s image that complete a rectangle with it, at most `max` serving blocks' area in
 * all: first along its row (right, then left), then whole rows below, then above. Blocks of several sizes mix
 * (serving blocks and, along a view's edge, blocks of the tiles' own size): a step adds a strip only if queued
 * blocks cover it exactly, none sticking out. A cold view's first tile always runs alone, so it still goes
 * out first.
 */
function mergeRectangle(first: BlockJob, queued: BlockJob[], max: number): BlockJob[] {
  if (first.first) return [];
  const img = first.img;
  const B = img.blockSize;
  const size = (j: BlockJob): number => j.size ?? B;
  const jobs = [first, ...queued.filter((j) => j.img === img && !j.first && B % size(j) === 0)];
  const unit = Math.min(...jobs.map(size));
  const at = new Map<string, BlockJob>();
  const cells = new Map<BlockJob, Cells>();
  for (const j of jobs) {
    const k = size(j) / unit;
    const c = { x0: j.bx * k, y0: j.by * k, x1: (j.bx + 1) * k, y1: (j.by + 1) * k };
    const keys = span(c.y0, c.y1 - 1).flatMap((y) => span(c.x0, c.x1 - 1).map((x) => `${x},${y}`));
    if (keys.some((key) => at.has(key))) continue; // the same pixels queued twice (two sizes): one of them is enough
    for (const key of keys) at.set(key, j);
    cells.set(j, c);
  }
  let r = cells.get(first)!;
  const limit = max * (B / unit) ** 2;
  // Adds the strip beside edge `side` of r that queued blocks cover exactly, widening it until no block
  // sticks out of it; false if a cell is empty, a block sticks out sideways, or the rectangle would be too big.
  const grow = (side: 'right' | 'left' | 'down' | 'up'): boolean => {
    const across = side === 'right' || side === 'left';
    for (let w = 1; ; ) {
      const s: Cells =
        side === 'right'
          ? { ...r, x0: r.x1, x1: r.x1 + w }
          : side === 'left'
            ? { ...r, x0: r.x0 - w, x1: r.x0 }
            : side === 'down'
              ? { ...r, y0: r.y1, y1: r.y1 + w }
              : { ...r, y0: r.y0 - w, y1: r.y0 };
      let need = w;
      for (let y = s.y0; y < s.y1; y++) {
        for (let x = s.x0; x < s.x1; x++) {
          const j = at.get(`${x},${y}`);
          if (!j) return false;
          const c = cells.get(j)!;
          if (across ? c.y0 < r.y0 || c.y1 > r.y1 : c.x0 < r.x0 || c.x1 > r.x1) return false;
          need = Math.max(
            need,
            side === 'right' ? c.x1 - r.x1 : side === 'left' ? r.x0 - c.x0 : side === 'down' ? c.y1 - r.y1 : r.y0 - c.y0,
          );
        }
      }
      if (need > w) {
        w = need;
        continue;
      }
      const next = { x0: Math.min(r.x0, s.x0), y0: Math.min(r.y0, s.y0), x1: Math.max(r.x1, s.x1), y1: Math.max(r.y1, s.y1) };
      if ((next.x1 - next.x0) * (next.y1 - next.y0) > limit) return false;
      r = next;
      return true;
    }
  };
  while (grow('right'));
  while (grow('left'));
  while (grow('down'));
  while (grow('up'));
  const group = new Set<BlockJob>();
  for (let y = r.y0; y < r.y1; y++) for (let x = r.x0; x < r.x1; x++) group.add(at.get(`${x},${y}`)!);
  group.delete(first);
  return [...group];
}

export class TileService {
  readonly queue: InferenceQueue<BlockJob, BlockResult>;
  readonly #floats = new SingleFlight<FloatTile>();
  readonly #encoded = new SingleFlight<EncodedTile>();

  constructor(private readonly opts: TileServiceOptions) {
    this.queue = new InferenceQueue<BlockJob, BlockResult>({
      maxQueued: opts.maxQueued,
      batch: opts.batch,
      run: async (jobs) => {
        const results = await inferBlocks(jobs, opts.engine, opts.cache, opts.modelSha, opts.stats);
        opts.stats.firstBlocksInferred += jobs.filter((j, i) => j.first && !(results[i] instanceof Error)).length;
        return results;
      },
      ...((opts.mergeBlocks ?? 1) > 1 && !opts.remote
        ? {
            merge: {
              pick: (first, queued) => mergeRectangle(first, queued, opts.mergeBlocks!),
              run: (jobs) => inferMerged(jobs, { ...opts, counters: opts.stats }),
            },
          }
        : {}),
    });
  }

  /** The encoded tile. @throws ServerError SR_ERR_TILE_OUT_OF_RANGE, SR_ERR_BUSY, SR_ERR_CANCELLED */
  async tile(
    img: ServedImage,
    layer: Layer,
    level: number,
    x: number,
    y: number,
    encoding: Encoding,
    ctx: TileContext,
  ): Promise<EncodedTile> {
    this.#check(img, level, x, y);
    const key = `${addressKey(tileAddress(img, this.opts.modelSha, layer, level, x, y))}/${encoding}`;
    const hit = this.opts.cache.encoded.get(key);
    if (hit) {
      this.opts.stats.cacheHits++;
      return hit;
    }
    const t = await this.floatTile(img, layer, level, x, y, ctx);
    return this.#encoded.run(key, async () => {
      const e = await encodeTile(t, encoding, img.percentiles.low, img.percentiles.high);
      this.opts.cache.encoded.set(key, e);
      return e;
    });
  }

  /** The tile before encoding, in normalised units (what the seam test compares). */
  async floatTile(img: ServedImage, layer: Layer, level: number, x: number, y: number, ctx: TileContext): Promise<FloatTile> {
    this.#check(img, level, x, y);
    const addr = tileAddress(img, this.opts.modelSha, layer, level, x, y);
    const cached = await this.opts.cache.getFloat(addr);
    if (cached) return cached;
    const p = img.pyramid;
    if (level <= p.nativeLevel) {
      return this.#floats.run(addressKey(addr), async () => {
        const t = await sourceTile(img, level, x, y, (l, cx, cy) => this.floatTile(img, layer, l, cx, cy, ctx));
        await this.opts.cache.putFloat(addr, t);
        return t;
      });
    }
    if (layer === 'bicubic') {
      return this.#floats.run(addressKey(addr), async () => {
        const t = await bicubicTile(img, level, x, y);
        await this.opts.cache.putFloat(addr, t);
        return t;
      });
    }
    return this.#srTile(img, level, x, y, addr, ctx);
  }

  /**
   * An SR tile from the blocks whose cores it overlaps: one block for the 8x and 4x tiles at the default
   * block size, 2x2 for a 2x tile (each yields a quarter, a "piece"). Each request waits on the queue
   * itself (deduplicated per block, cancellable per waiter) and stitches its own copy.
   */
  async #srTile(img: ServedImage, level: number, x: number, y: number, addr: TileAddress, ctx: TileContext): Promise<FloatTile> {
    const p = img.pyramid;
    const s = 2 ** (level - p.nativeLevel);
    const r = tileRect(p, level, x, y)!;
    const key = addressKey(addr);
    const blocks = this.#blocksFor(img, level, r, s, ctx);
    if (blocks.length === 1) {
      const ref = blocks[0]!;
      const t = (await this.#blockResult(img, ref, ctx)).get(key) ?? (await this.opts.cache.getFloat(addr));
      if (!t)
        throw new ServerError('SR_ERR_INTERNAL', `block ${ref.bx},${ref.by} (size ${ref.size}) did not produce tile ${level}/${x}/${y}`);
      return t;
    }
    const pieces = await Promise.all(
      blocks.map(async (ref) => {
        const b = img.block(ref.bx, ref.by, ref.size);
        const pieceAddr = pieceAddress(img, this.opts.modelSha, level, x, y, ref.bx, ref.by, ref.size);
        const t =
          (await this.opts.cache.getFloat(pieceAddr)) ??
          (await this.#blockResult(img, ref, ctx)).get(key) ??
          (await this.opts.cache.getFloat(pieceAddr));
        if (!t)
          throw new ServerError(
            'SR_ERR_INTERNAL',
            `block ${ref.bx},${ref.by} (size ${ref.size}) did not produce its piece of tile ${level}/${x}/${y}`,
          );
        return { at: pieceRect(r, b.core, s), t };
      }),
    );
    const data = new Float32Array(r.w * r.h);
    for (const { at, t } of pieces) {
      copyRect(t.data, at.w, { x: 0, y: 0, w: at.w, h: at.h }, { data, width: r.w, x: at.x, y: at.y });
    }
    const tile = { width: r.w, height: r.h, data };
    await this.opts.cache.putFloat(addr, tile);
    this.opts.stats.tilesComputed++;
    return tile;
  }

  /**
   * The blocks tile rectangle `r` (output pixels at scale s) is made from: its serving-size blocks, unless it
   * is the first visible tile of a cold view (the engine idle) and first blocks cover it with less work than
   * its one serving block: then those first blocks, for this tile only. With merging on, a visible tile in the
   * requester's view whose serving block also holds tiles outside the view comes from blocks of its own size
   * (edgeBlocks).
   */
  #blocksFor(img: ServedImage, level: number, r: Rect, s: number, ctx: TileContext): BlockRef[] {
    const B = img.blockSize;
    const F = this.opts.firstBlockSize ?? 0;
    const lr = { x: r.x / s, y: r.y / s, w: r.w / s, h: r.h / s };
    const serving = cover(lr, B);
    // Remote blocks go to the shared queue at the serving size; this process's queue says nothing of its load.
    if (this.opts.remote || serving.length !== 1 || !ctx.waiter.visible) return serving;
    if (F > 0 && F < B && this.queue.queued === 0 && this.queue.running === 0) {
      const small = cover(lr, F);
      if (small.length < cover(img.block(serving[0]!.bx, serving[0]!.by).core, F).length) return small.map((b) => ({ ...b, first: true }));
    }
    return this.#edgeBlocks(img, level, lr, s, serving[0]!, ctx) ?? serving;
  }

  /**
   * Blocks of the tile's own LR size for a tile in view whose serving block `ref` sticks out of the view (with
   * merging on), else undefined. The view's edge tiles then merge into the view's window without the serving
   * blocks' parts outside it, which nobody asked for (they would be computed and cached, never sent).
   */
  #edgeBlocks(img: ServedImage, level: number, lr: Rect, s: number, ref: BlockRef, ctx: TileContext): BlockRef[] | undefined {
    const p = img.pyramid;
    const P = p.tileSize / s;
    const v = ctx.view;
    if ((this.opts.mergeBlocks ?? 1) <= 1 || !v || !(P < img.blockSize && img.blockSize % P === 0)) return undefined;
    const inView = (tx: number, ty: number): boolean => tileInView(level, tx, ty, v.area, v.level, p.tileSize);
    if (!inView(Math.floor((lr.x * s) / p.tileSize), Math.floor((lr.y * s) / p.tileSize))) return undefined;
    const core = img.block(ref.bx, ref.by).core;
    for (let ty = Math.floor((core.y * s) / p.tileSize); ty < Math.ceil(((core.y + core.h) * s) / p.tileSize); ty++)
      for (let tx = Math.floor((core.x * s) / p.tileSize); tx < Math.ceil(((core.x + core.w) * s) / p.tileSize); tx++)
        if (!inView(tx, ty)) return cover(lr, P);
    return undefined;
  }

  /** The block's tiles from this process's queue, or (remote) an empty map once they are in the shared cache. */
  async #blockResult(img: ServedImage, ref: BlockRef, ctx: TileContext): Promise<BlockResult> {
    const { size, bx, by, first = false } = ref;
    if (this.opts.remote) {
      await this.opts.remote.block(img, bx, by, ctx.waiter, ctx.signal);
      return new Map();
    }
    const b = img.block(bx, by, size);
    return this.queue.submit(
      `${img.id}/${size}/${bx}/${by}`,
      `${b.window.w}x${b.window.h}`,
      () => ({ img, bx, by, size, first }),
      ctx.waiter,
      ctx.signal,
      first,
    );
  }

  /** Drops queued work of a closed image. */
  dropImage(img: ServedImage): void {
    this.queue.dropPrefix(`${img.id}/`);
    this.opts.remote?.dropImage(img);
  }

  #check(img: ServedImage, level: number, x: number, y: number): void {
    if (!tileRect(img.pyramid, level, x, y)) {
      const l = img.pyramid.levels[level];
      const where = l ? `level ${level} has ${l.columns}x${l.rows} tiles` : `levels are 0..${img.pyramid.maxLevel}`;
      throw new ServerError('SR_ERR_TILE_OUT_OF_RANGE', `tile ${level}/${x}/${y} is outside image ${img.id} (${where})`);
    }
  }
}
