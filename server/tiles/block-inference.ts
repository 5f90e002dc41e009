// One engine call for LR blocks of one window size, cut into every model level's tiles and written to the
// tile cache: the in-process queue (tile-service.ts) and the Redis workers (server/scale/) run the same code,
// so a block's tiles are identical bytes whichever process computed them.
import type { SuperResBackend } from '../../models';
import { normalise } from '../../models/io/normalisation';
import { cropRect, pieceRect } from '../../models/tiling';
import type { Block, ServedImage } from '../images/served-image';
import { tileRect, type Layer } from '../protocol';
import { BICUBIC_KEY } from './bicubic-tiles';
import type { FloatTile } from './float-tile';
import { addressKey, type TileCache, type TileAddress } from './tile-cache';

export interface BlockJob {
  img: ServedImage;
  bx: number;
  by: number;
  /** Block side in LR pixels: the image's serving block size unless given (the first blocks of a cold view). */
  size?: number;
}

/** A block's share of every tile its core overlaps, at every model level, by the tile's address key:
 *  the whole tile, or the piece inside the core (pieceRect) when the tile spans several blocks. */
export type BlockResult = Map<string, FloatTile>;

/** What a block run counts (server stats or a worker's own counters). */
export interface InferenceCounters {
  engineCalls: number;
  blocksInferred: number;
  tilesComputed: number;
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
  const levels = await engine.run(input, inputs.length, wh, ww);
  counters.engineCalls++;
  counters.blocksInferred += inputs.length;
  const writes: Promise<void>[] = [];
  inputs.forEach(({ i, j, b }, k) => {
    const out = results[i] as BlockResult;
    const p = j.img.pyramid;
    for (const lv of levels) {
      const s = lv.scale;
      const level = p.nativeLevel + Math.round(Math.log2(s));
      const base = k * lv.width * lv.height;
      const tx0 = Math.floor((b.core.x * s) / p.tileSize),
        ty0 = Math.floor((b.core.y * s) / p.tileSize);
      const tx1 = Math.ceil(((b.core.x + b.core.w) * s) / p.tileSize),
        ty1 = Math.ceil(((b.core.y + b.core.h) * s) / p.tileSize);
      for (let ty = ty0; ty < ty1; ty++) {
        for (let tx = tx0; tx < tx1; tx++) {
          const r = tileRect(p, level, tx, ty)!;
          const at = pieceRect(r, b.core, s);
          // Output pixel (X, Y) of the image is (X - window.x * s, Y - window.y * s) of this window's output.
          const t = {
            width: at.w,
            height: at.h,
            data: cropRect(lv.data, lv.width, { x: r.x + at.x - b.window.x * s, y: r.y + at.y - b.window.y * s, w: at.w, h: at.h }, base),
          };
          const whole = at.w === r.w && at.h === r.h;
          const addr = tileAddress(j.img, modelSha, 'sr', level, tx, ty);
          out.set(addressKey(addr), t);
          writes.push(cache.putFloat(whole ? addr : pieceAddress(j.img, modelSha, level, tx, ty, j.bx, j.by, j.size), t));
          if (whole) counters.tilesComputed++;
        }
      }
    }
  });
  await Promise.all(writes);
  return results;
}
