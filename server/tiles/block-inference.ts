// One engine call for LR blocks of one window size, cut into every model level's tiles and written to the
// tile cache: the in-process queue (tile-service.ts) and the Redis workers (server/scale/) run the same code,
// so a block's tiles are identical bytes whichever process computed them.
import type { LevelBatch, SuperResBackend } from '../../models';
import { normalise } from '../../models/io/normalisation';
import { cropRect, pieceRect, type Rect } from '../../models/tiling';
import type { Block, ServedImage } from '../images/served-image';
import { tileRect, type Layer } from '../protocol';
import { BICUBIC_KEY } from './bicubic-tiles';
import type { FloatTile } from './float-tile';
import { addressKey, type TileCache, type TileAddress } from './tile-cache';

export interface BlockJob {
  img: ServedImage;
  bx: number;
  by: number;
  /** Block side in LR pixels: the image's serving block size unless given (a cold view's first tile, a view's edge tiles). */
  size?: number;
  /** The first tile of a cold view: runs alone, ahead of the rest (TileService). */
  first?: boolean;
}

/** A block's share of every tile its core overlaps, at every model level, by the tile's address key:
 *  the whole tile, or the piece inside the core (pieceRect) when the tile spans several blocks. */
export type BlockResult = Map<string, FloatTile>;

/** What a block run counts (server stats or a worker's own counters). */
export interface InferenceCounters {
  engineCalls: number;
  blocksInferred: number;
  tilesComputed: number;
  /** Engine calls that ran several adjacent blocks as one window (inferMerged); absent where never merged. */
  mergedCalls?: number;
  /** LR pixels fed to the engine, every window of every call (the work done); absent where not counted. */
  windowPixels?: number;
  /** Of those, the LR pixels the engine ran its x2 cascade on (the cores plus the cascade's own margin). */
  cascadePixels?: number;
}

/** The bounding box of `rects`. */
function boundingBox(rects: Rect[]): Rect {
  const x = Math.min(...rects.map((r) => r.x)),
    y = Math.min(...rects.map((r) => r.y));
  return { x, y, w: Math.max(...rects.map((r) => r.x + r.w)) - x, h: Math.max(...rects.map((r) => r.y + r.h)) - y };
}

/** Counts one engine call's work: its windows, and the region of them its cascade ran on (levels[0]). */
function countCall(counters: InferenceCounters, n: number, win: Rect, levels: LevelBatch[]): void {
  const lv = levels[0]!;
  counters.windowPixels = (counters.windowPixels ?? 0) + n * win.w * win.h;
  counters.cascadePixels = (counters.cascadePixels ?? 0) + (n * lv.width * lv.height) / lv.scale ** 2;
}

/** Where a tile is cached: source levels have no model, bicubic tiles their own key, model levels the model's hash. */
export function tileAddress(img: ServedImage, modelSha: string, layer: Layer, level: number, x: number, y: number): TileAddress {
  const native = level <= img.pyramid.nativeLevel;
  const made = native ? '' : layer === 'bicubic' ? BICUBIC_KEY : modelSha;
  return { imageSha: img.sha256, modelSha: made, layer: native ? 'source' : layer, level, x, y };
}

/** Where a block's piece of a tile it only partly covers is cached (the block size is part of the name). */
export function pieceAddress(
  img: ServedImage,
  modelSha: string,
  level: number,
  x: number,
  y: number,
  bx: number,
  by: number,
  size = img.blockSize,
): TileAddress {
  return { ...tileAddress(img, modelSha, 'sr', level, x, y), layer: `sr-piece${size}-${bx}-${by}` };
}

/**
 * Runs `jobs` (same window size) in one engine call and caches every tile and piece they yield. A block
 * whose region cannot be read (a corrupt tile deep in a file) fails alone, not its batch-mates.
 */
export async function inferBlocks(
  jobs: BlockJob[],
  engine: SuperResBackend,
  cache: TileCache,
  modelSha: string,
  counters: InferenceCounters,
): Promise<(BlockResult | Error)[]> {
  const results: (BlockResult | Error)[] = jobs.map(() => new Map());
  const inputs: { i: number; j: BlockJob; b: Block; data: Float32Array }[] = [];
  for (let i = 0; i < jobs.length; i++) {
    const j = jobs[i]!;
    const b = j.img.block(j.bx, j.by, j.size);
    try {
      const raw = await j.img.source.readRegion(b.window.x, b.window.y, b.window.w, b.window.h);
      inputs.push({ i, j, b, data: normalise(raw, j.img.percentiles.low, j.img.percentiles.high) });
    } catch (e) {
      results[i] = e instanceof Error ? e : new Error(String(e));
    }
  }
  if (inputs.length === 0) return results;
  const { w: ww, h: wh } = inputs[0]!.b.window;
  const input = new Float32Array(inputs.length * ww * wh);
  inputs.forEach((x, k) => {
    input.set(x.data, k * ww * wh);
  });
  // The engine computes every item on one region of its window: the box of all the cores (one place unless an
  // image edge moved a window).
  const need = boundingBox(inputs.map(({ b }) => ({ ...b.core, x: b.core.x - b.window.x, y: b.core.y - b.window.y })));
  const levels = await engine.run(input, inputs.length, wh, ww, need);
  counters.engineCalls++;
  counters.blocksInferred += inputs.length;
  countCall(counters, inputs.length, inputs[0]!.b.window, levels); // not input.length: the worker engine takes its buffer
  const writes: Promise<void>[] = [];
  inputs.forEach(({ i, j, b }, k) => {
    writes.push(...cacheBlock(j, b, levels, k, b.window, results[i] as BlockResult, cache, modelSha, counters));
  });
  await Promise.all(writes);
  return results;
}

/**
 * Runs blocks of one image that tile a rectangle (of the serving size, and along the view's edges of the tiles'
 * own size: TileService) as ONE engine call on the bounding box of
 * their windows (the rectangle plus one halo), and caches each block's tiles and pieces exactly as
 * inferBlocks would: the model is tiling-invariant, so a block's pixels do not depend on its window. If the
 * merged region cannot be read, each block runs alone, so a bad region fails only its own blocks.
 */
export async function inferMerged(
  jobs: BlockJob[],
  { engine, cache, modelSha, counters }: { engine: SuperResBackend; cache: TileCache; modelSha: string; counters: InferenceCounters },
): Promise<(BlockResult | Error)[]> {
  const img = jobs[0]!.img;
  const blocks = jobs.map((j) => img.block(j.bx, j.by, j.size));
  const win = boundingBox(blocks.map((b) => b.window));
  let data: Float32Array;
  try {
    data = normalise(await img.source.readRegion(win.x, win.y, win.w, win.h), img.percentiles.low, img.percentiles.high);
  } catch {
    const alone: (BlockResult | Error)[] = [];
    for (const j of jobs) alone.push(...(await inferBlocks([j], engine, cache, modelSha, counters)));
    return alone;
  }
  const need = boundingBox(blocks.map((b) => ({ ...b.core, x: b.core.x - win.x, y: b.core.y - win.y })));
  const levels = await engine.run(data, 1, win.h, win.w, need);
  counters.engineCalls++;
  counters.blocksInferred += jobs.length;
  counters.mergedCalls = (counters.mergedCalls ?? 0) + 1;
  countCall(counters, 1, win, levels);
  const results = jobs.map((): BlockResult => new Map());
  await Promise.all(jobs.flatMap((j, i) => cacheBlock(j, blocks[i]!, levels, 0, win, results[i]!, cache, modelSha, counters)));
  return results;
}

/**
 * Cuts block `b`'s tiles and pieces at every model level out of item `k` of an engine output whose LR
 * window is `win` (the output starts at the level's origin in it), puts them in `out` and starts their
 * cache writes.
 */
function cacheBlock(
  j: BlockJob,
  b: Block,
  levels: LevelBatch[],
  k: number,
  win: Rect,
  out: BlockResult,
  cache: TileCache,
  modelSha: string,
  counters: InferenceCounters,
): Promise<void>[] {
  const writes: Promise<void>[] = [];
  const p = j.img.pyramid;
  for (const lv of levels) {
    const s = lv.scale;
    const level = p.nativeLevel + Math.round(Math.log2(s));
    const base = k * lv.width * lv.height;
    const ox = win.x + (lv.origin?.x ?? 0),
      oy = win.y + (lv.origin?.y ?? 0);
    const tx0 = Math.floor((b.core.x * s) / p.tileSize),
      ty0 = Math.floor((b.core.y * s) / p.tileSize);
    const tx1 = Math.ceil(((b.core.x + b.core.w) * s) / p.tileSize),
      ty1 = Math.ceil(((b.core.y + b.core.h) * s) / p.tileSize);
    for (let ty = ty0; ty < ty1; ty++) {
      for (let tx = tx0; tx < tx1; tx++) {
        const r = tileRect(p, level, tx, ty)!;
        const at = pieceRect(r, b.core, s);
        const whole = at.w === r.w && at.h === r.h;
        const addr = tileAddress(j.img, modelSha, 'sr', level, tx, ty);
        // A whole tile computed before (a cold view's first tile, from its small block) keeps its first copy: what
        // was sent stays what the cache serves. That copy went through putFloat already (memory and disk), so it
        // is not written again.
        const kept = whole ? cache.floats.get(addressKey(addr)) : undefined;
        if (kept) {
          out.set(addressKey(addr), kept);
          continue;
        }
        const t = {
          width: at.w,
          height: at.h,
          // Output pixel (X, Y) of the image is (X - ox * s, Y - oy * s) of this output.
          data: cropRect(lv.data, lv.width, { x: r.x + at.x - ox * s, y: r.y + at.y - oy * s, w: at.w, h: at.h }, base),
        };
        out.set(addressKey(addr), t);
        writes.push(cache.putFloat(whole ? addr : pieceAddress(j.img, modelSha, level, tx, ty, j.bx, j.by, j.size), t));
        if (whole) counters.tilesComputed++;
      }
    }
  }
  return writes;
}
