// Deep-zoom level numbering, shared by server, viewer and clients (DZI convention, as OpenSeadragon reads it):
// level 0 is 1x1, each level doubles, the native level N = ceil(log2(max(w, h))) is the image itself, and
// levels N+1..N+log2(modelScale) (2x, 4x, 8x) come from the model. Level L is ceil(w * 2^(L-N)) wide.

/** Output tile side in pixels (edge tiles are cut to the image). */
export const TILE_SIZE = 256;

export interface PyramidLevel {
  level: number;
  width: number;
  height: number;
  /** Scale relative to the native image: 1/2^k below native, 1 at native, 2, 4, 8 above. */
  scale: number;
  columns: number;
  rows: number;
  /** Where its pixels come from: downsampled source, the source itself, or the model (and bicubic layer). */
  source: 'downsampled' | 'native' | 'model';
}

export interface Pyramid {
  /** Size of the native image. */
  width: number;
  height: number;
  tileSize: number;
  nativeLevel: number;
  maxLevel: number;
  levels: PyramidLevel[];
}

/** The pyramid of a width x height image served with a model of `modelScale` (2, 4 or 8). */
export function pyramidOf(width: number, height: number, modelScale: number, tileSize = TILE_SIZE): Pyramid {
  const nativeLevel = Math.ceil(Math.log2(Math.max(width, height, 1)));
  const maxLevel = nativeLevel + Math.round(Math.log2(modelScale));
  const levels: PyramidLevel[] = [];
  for (let level = 0; level <= maxLevel; level++) {
    const { width: w, height: h } = levelSize(width, height, nativeLevel, level);
    levels.push({
      level,
      width: w,
      height: h,
      scale: 2 ** (level - nativeLevel),
      columns: Math.ceil(w / tileSize),
      rows: Math.ceil(h / tileSize),
      source: level < nativeLevel ? 'downsampled' : level === nativeLevel ? 'native' : 'model',
    });
  }
  return { width, height, tileSize, nativeLevel, maxLevel, levels };
}

/** Size of level `level` of a width x height image whose native level is `nativeLevel`. */
export function levelSize(width: number, height: number, nativeLevel: number, level: number): { width: number; height: number } {
  const f = 2 ** (level - nativeLevel);
  return { width: Math.ceil(width * f), height: Math.ceil(height * f) };
}

/** The pixel rectangle of tile (x, y) at a level (cut at the level's edge), or undefined when outside. */
export function tileRect(p: Pyramid, level: number, x: number, y: number): { x: number; y: number; w: number; h: number } | undefined {
  const l = p.levels[level];
  if (!l || !Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= l.columns || y >= l.rows) return undefined;
  const px = x * p.tileSize;
  const py = y * p.tileSize;
  return { x: px, y: py, w: Math.min(p.tileSize, l.width - px), h: Math.min(p.tileSize, l.height - py) };
}

/** A rectangle by its edges, half-open: [x0, x1) x [y0, y1). */
export interface Area {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * Whether tile (level, x, y) overlaps `view`, an area in pixels of level `ref` (touching edges do not count):
 * the server's viewport hint and the viewer's own tile culling ask the same question. Scaling by powers of
 * two is exact in floating point, so any reference level gives the same answer.
 */
export function tileInView(level: number, x: number, y: number, view: Area, ref: number, tileSize = TILE_SIZE): boolean {
  const f = tileSize * 2 ** (ref - level); // level-`ref` pixels per tile
  return x * f < view.x1 && (x + 1) * f > view.x0 && y * f < view.y1 && (y + 1) * f > view.y0;
}

/** The area (in pixels of its own level) covered by the inclusive tile range x0..x1, y0..y1 of a viewport hint. */
export function viewportArea(v: Area, tileSize = TILE_SIZE): Area {
  return { x0: v.x0 * tileSize, y0: v.y0 * tileSize, x1: (v.x1 + 1) * tileSize, y1: (v.y1 + 1) * tileSize };
}
