// Tiles at and below the native level, from the source image: the native level is read as is; lower levels
// are box averages (f x f source pixels per output pixel, partial blocks at the edges averaged over what
// exists). Up to MAX_DIRECT_FACTOR the region is read at once (<= 2048^2 pixels); beyond, a tile is the 2x2
// average of its four children, so memory stays bounded for any image size (children are cached).
import { normalise } from '../../models/io/normalisation';
import { copyRect } from '../../models/tiling';
import type { ServedImage } from '../images/served-image';
import { Limiter } from '../limiter';
import { tileRect } from '../protocol';
import type { FloatTile } from './float-tile';

export const MAX_DIRECT_FACTOR = 8;

/** Fetches a (cached) tile of the same image: used for the children of low levels. */
export type TileGetter = (level: number, x: number, y: number) => Promise<FloatTile>;

/** Direct reads of up to (256 * MAX_DIRECT_FACTOR)^2 pixels run at most this many at a time, server-wide. */
const reads = new Limiter(2);

export async function sourceTile(img: ServedImage, level: number, x: number, y: number, child: TileGetter): Promise<FloatTile> {
  const p = img.pyramid;
  const rect = tileRect(p, level, x, y);
  if (!rect || level > p.nativeLevel) throw new RangeError(`no source tile ${level}/${x}/${y}`);
  const f = 2 ** (p.nativeLevel - level);
  const { low, high } = img.percentiles;
  if (f <= MAX_DIRECT_FACTOR) {
    const sx = rect.x * f;
    const sy = rect.y * f;
    const sw = Math.min(rect.w * f, img.width - sx);
    const sh = Math.min(rect.h * f, img.height - sy);
    return reads.run(async () => {
      const raw = await img.source.readRegion(sx, sy, sw, sh);
      const data = normalise(f === 1 ? raw : boxReduce(raw, sw, sh, f), low, high);
      return { width: rect.w, height: rect.h, data };
    });
  }
  // Mosaic of the (up to) four children at level + 1, then a 2x2 average.
  const next = p.levels[level + 1]!;
  const kids = await Promise.all(
    [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ].map(async ([dx, dy]) => {
      const cx = 2 * x + dx!;
      const cy = 2 * y + dy!;
      return cx < next.columns && cy < next.rows ? { dx: dx!, dy: dy!, t: await child(level + 1, cx, cy) } : undefined;
    }),
  );
  const mw = Math.min(2 * p.tileSize, next.width - 2 * x * p.tileSize);
  const mh = Math.min(2 * p.tileSize, next.height - 2 * y * p.tileSize);
  const mosaic = new Float32Array(mw * mh);
  for (const k of kids) {
    if (k)
      copyRect(
        k.t.data,
        k.t.width,
        { x: 0, y: 0, w: k.t.width, h: k.t.height },
        { data: mosaic, width: mw, x: k.dx * p.tileSize, y: k.dy * p.tileSize },
      );
  }
  return { width: rect.w, height: rect.h, data: boxReduce(mosaic, mw, mh, 2) };
}

/** Averages f x f blocks of a w x h image (edge blocks over the pixels they have). */
export function boxReduce(src: Float32Array, w: number, h: number, f: number): Float32Array {
  const ow = Math.ceil(w / f);
  const oh = Math.ceil(h / f);
  const sum = new Float64Array(ow * oh);
  const count = new Uint32Array(ow * oh);
  for (let y = 0; y < h; y++) {
    const row = Math.floor(y / f) * ow;
    for (let x = 0; x < w; x++) {
      const o = row + Math.floor(x / f);
      sum[o]! += src[y * w + x]!;
      count[o]!++;
    }
  }
  const out = new Float32Array(ow * oh);
  for (let i = 0; i < out.length; i++) out[i] = sum[i]! / count[i]!;
  return out;
}
