// Tile address (image, layer, level, x, y, encoding) -> bytes. Source levels come from the image, levels
// above native from the model through the shared inference queue: one LR block's inference yields its 2x,
// 4x and 8x tiles together, and all of them are cached. Every step is deduplicated across requests.
import type { SuperResBackend } from '../../models';
import { normalise } from '../../models/io/normalisation';
import { ServerError } from '../errors';
import type { ServedImage } from '../images/served-image';
import type { Block } from '../images/served-image';
import { tileRect, type Encoding, type Layer } from '../protocol';
import type { ServerStats } from '../stats';
import { BICUBIC_KEY, bicubicTile } from './bicubic-tiles';
import { encodeTile } from './encode';
import { crop, type EncodedTile, type FloatTile } from './float-tile';
import { InferenceQueue, type Waiter } from './inference-queue';
import { SingleFlight } from './single-flight';
import { sourceTile } from './source-tiles';
import { addressKey, TileCache, type TileAddress } from './tile-cache';

export interface TileServiceOptions {
  engine: SuperResBackend;
  modelSha: string;
  halo: number;
  cache: TileCache;
  stats: ServerStats;
  maxQueued: number;
  batch: number;
}

/** How a request waits: its queue priority and what cancels it. */
export interface TileContext {
  waiter: Waiter;
  signal?: AbortSignal;
}

interface BlockJob {
  img: ServedImage;
  bx: number;
  by: number;
}

/** A block's share of every tile its core overlaps, at every model level, by the tile's address key:
 *  the whole tile, or the piece inside the core (pieceRect) when the tile spans several blocks. */
type BlockResult = Map<string, FloatTile>;

interface Rect { x: number; y: number; w: number; h: number }

/** The part of tile rectangle `r` (output pixels) inside an LR block core at scale s, relative to the tile. */
function pieceRect(r: Rect, core: Rect, s: number): Rect {
  const x0 = Math.max(r.x, core.x * s), x1 = Math.min(r.x + r.w, (core.x + core.w) * s);
  const y0 = Math.max(r.y, core.y * s), y1 = Math.min(r.y + r.h, (core.y + core.h) * s);
  return { x: x0 - r.x, y: y0 - r.y, w: x1 - x0, h: y1 - y0 };
}

function span(a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

export class TileService {
  readonly queue: InferenceQueue<BlockJob, BlockResult>;
  readonly #floats = new SingleFlight<FloatTile>();
  readonly #encoded = new SingleFlight<EncodedTile>();

  constructor(private readonly opts: TileServiceOptions) {
    this.queue = new InferenceQueue<BlockJob, BlockResult>({ maxQueued: opts.maxQueued, batch: opts.batch, run: (jobs) => this.#infer(jobs) });
  }

  /** The encoded tile. @throws ServerError SR_ERR_TILE_OUT_OF_RANGE, SR_ERR_BUSY, SR_ERR_CANCELLED */
  async tile(img: ServedImage, layer: Layer, level: number, x: number, y: number, encoding: Encoding, ctx: TileContext): Promise<EncodedTile> {
    this.#check(img, level, x, y);
    const key = `${addressKey(this.#address(img, layer, level, x, y))}/${encoding}`;
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
    const addr = this.#address(img, layer, level, x, y);
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
    const B = img.blockSize;
    const bxs = span(Math.floor(r.x / s / B), Math.floor((r.x + r.w - 1) / s / B));
    const bys = span(Math.floor(r.y / s / B), Math.floor((r.y + r.h - 1) / s / B));
    const key = addressKey(addr);
    if (bxs.length === 1 && bys.length === 1) {
      const t = (await this.#blockResult(img, bxs[0]!, bys[0]!, ctx)).get(key);
      if (!t) throw new ServerError('SR_ERR_INTERNAL', `block ${bxs[0]},${bys[0]} did not produce tile ${level}/${x}/${y}`);
      return t;
    }
    const pieces = await Promise.all(bys.flatMap((by) => bxs.map(async (bx) => {
      const b = img.block(bx, by);
      const pieceAddr = this.#pieceAddress(img, level, x, y, bx, by);
      const t = (await this.opts.cache.getFloat(pieceAddr)) ?? (await this.#blockResult(img, bx, by, ctx)).get(key);
      if (!t) throw new ServerError('SR_ERR_INTERNAL', `block ${bx},${by} did not produce its piece of tile ${level}/${x}/${y}`);
      return { at: pieceRect(r, b.core, s), t };
    })));
    const data = new Float32Array(r.w * r.h);
    for (const { at, t } of pieces) {
      for (let row = 0; row < at.h; row++) data.set(t.data.subarray(row * at.w, (row + 1) * at.w), (at.y + row) * r.w + at.x);
    }
    const tile = { width: r.w, height: r.h, data };
    await this.opts.cache.putFloat(addr, tile);
    this.opts.stats.tilesComputed++;
    return tile;
  }

  #blockResult(img: ServedImage, bx: number, by: number, ctx: TileContext): Promise<BlockResult> {
    const b = img.block(bx, by);
    return this.queue.submit(`${img.id}/${bx}/${by}`, `${b.window.w}x${b.window.h}`, () => ({ img, bx, by }), ctx.waiter, ctx.signal);
  }

  /** Where a block's piece of a tile it only partly covers is cached (the block size is part of the name). */
  #pieceAddress(img: ServedImage, level: number, x: number, y: number, bx: number, by: number): TileAddress {
    return { ...this.#address(img, 'sr', level, x, y), layer: `sr-piece${img.blockSize}-${bx}-${by}` };
  }

  /** Drops queued work of a closed image. */
  dropImage(img: ServedImage): void {
    this.queue.dropPrefix(`${img.id}/`);
  }

  #check(img: ServedImage, level: number, x: number, y: number): void {
    if (!tileRect(img.pyramid, level, x, y)) {
      const l = img.pyramid.levels[level];
      const where = l ? `level ${level} has ${l.columns}x${l.rows} tiles` : `levels are 0..${img.pyramid.maxLevel}`;
      throw new ServerError('SR_ERR_TILE_OUT_OF_RANGE', `tile ${level}/${x}/${y} is outside image ${img.id} (${where})`);
    }
  }

  #address(img: ServedImage, layer: Layer, level: number, x: number, y: number): TileAddress {
    const native = level <= img.pyramid.nativeLevel;
    const made = native ? '' : layer === 'bicubic' ? BICUBIC_KEY : this.opts.modelSha;
    return { imageSha: img.sha256, modelSha: made, layer: native ? 'source' : layer, level, x, y };
  }

  /** One engine call for blocks with the same window size; cuts every level's output into tiles. A block
   *  whose region cannot be read (a corrupt tile deep in a file) fails alone, not its batch-mates. */
  async #infer(jobs: BlockJob[]): Promise<(BlockResult | Error)[]> {
    const results: (BlockResult | Error)[] = jobs.map(() => new Map());
    const inputs: { i: number; j: BlockJob; b: Block; data: Float32Array }[] = [];
    for (let i = 0; i < jobs.length; i++) {
      const j = jobs[i]!;
      const b = j.img.block(j.bx, j.by);
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
    inputs.forEach((x, k) => input.set(x.data, k * ww * wh));
    const levels = await this.opts.engine.run(input, inputs.length, wh, ww);
    this.opts.stats.engineCalls++;
    this.opts.stats.blocksInferred += inputs.length;
    const writes: Promise<void>[] = [];
    inputs.forEach(({ i, j, b }, k) => {
      const out = results[i] as BlockResult;
      const p = j.img.pyramid;
      for (const lv of levels) {
        const s = lv.scale;
        const level = p.nativeLevel + Math.round(Math.log2(s));
        const base = k * lv.width * lv.height;
        const tx0 = Math.floor((b.core.x * s) / p.tileSize), ty0 = Math.floor((b.core.y * s) / p.tileSize);
        const tx1 = Math.ceil(((b.core.x + b.core.w) * s) / p.tileSize), ty1 = Math.ceil(((b.core.y + b.core.h) * s) / p.tileSize);
        for (let ty = ty0; ty < ty1; ty++) {
          for (let tx = tx0; tx < tx1; tx++) {
            const r = tileRect(p, level, tx, ty)!;
            const at = pieceRect(r, b.core, s);
            // Output pixel (X, Y) of the image is (X - window.x * s, Y - window.y * s) of this window's output.
            const t = { width: at.w, height: at.h, data: crop(lv.data, lv.width, base, r.x + at.x - b.window.x * s, r.y + at.y - b.window.y * s, at.w, at.h) };
            const whole = at.w === r.w && at.h === r.h;
            const addr = this.#address(j.img, 'sr', level, tx, ty);
            out.set(addressKey(addr), t);
            writes.push(this.opts.cache.putFloat(whole ? addr : this.#pieceAddress(j.img, level, tx, ty, j.bx, j.by), t));
            if (whole) this.opts.stats.tilesComputed++;
          }
        }
      }
    });
    await Promise.all(writes);
    return results;
  }
}
