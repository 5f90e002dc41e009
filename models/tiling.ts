// Overlap maths for tiled inference, used by `phasesr sr` and the tile server alike: how far a pixel's
// output can see (the halo), and which input window and output crop each tile uses.
import { levelCount, type ModelConfig } from './config';

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * Receptive-field radius of the generator in LR pixels, rounded up: how far from an output pixel an
 * input pixel can still change it. Sum of each layer's reach converted to LR pixels: the DPF conv (1),
 * the LR body's 3x3 convs (1 each), each 3x3 conv (1 pixel at its level = 2^-k LR pixels), each asymmetric x2 upsample (1 pixel at the
 * coarser level, to the right/bottom) and the half-pixel skip (1 LR pixel).
 */
export function receptiveRadius(cfg: ModelConfig): number {
  const n = levelCount(cfg);
  let r = cfg.dpf ? 1 : 0;
  for (let k = 0; k <= n; k++) r += cfg.convsPerModule / 2 ** k;
  // Each body block has two 3x3 convs at LR size (its 1x1 mixer reaches no further).
  if (cfg.body) r += 2 * cfg.body.blocks;
  for (let k = 1; k <= n; k++) r += 1 / 2 ** (k - 1);
  if (cfg.skip === 'bilinear') r = Math.max(r, 1);
  return Math.ceil(r);
}

/** The halo a tile needs: the receptive radius plus one pixel of margin. */
export function haloFor(cfg: ModelConfig): number {
  return receptiveRadius(cfg) + 1;
}

/**
 * How far into the cascade's input (the LR features after the input module and the body) an output pixel
 * can see, in LR pixels, plus one pixel of margin: each x2 module's asymmetric upsample (1 pixel at the
 * coarser level) and 3x3 convs (1 pixel at its level each). The skip upsamples the LR image cut at the
 * same place, and a half-pixel bilinear reaches 1 LR pixel. An engine that runs the cascade only on a
 * region of its window (SuperResBackend.run's `need`) keeps this margin around what it must return, so
 * those pixels equal the whole window's.
 */
export function cascadeHalo(cfg: ModelConfig): number {
  const n = levelCount(cfg);
  let r = 0;
  for (let k = 1; k <= n; k++) r += 1 / 2 ** (k - 1) + cfg.convsPerModule / 2 ** k;
  if (cfg.skip === 'bilinear') r = Math.max(r, 1);
  return Math.ceil(r) + 1;
}

export interface TilePlan {
  /** The LR pixels whose output this tile produces. */
  core: Rect;
  /** The LR window fed to the model: the core plus halo, clipped to the image, then shifted inwards so
   *  that every window has the same size (one engine call can batch them). */
  window: Rect;
}

/**
 * Splits a width x height LR image into tiles of at most `tile` x `tile` LR pixels, row-major.
 * Windows are `min(tile + 2 * halo, image side)` wide: a window at the image edge is moved inwards,
 * not shrunk, so its zero padding falls where whole-image inference puts it and its size matches its
 * neighbours'.
 */
export function planTiles(width: number, height: number, tile: number, halo: number): TilePlan[] {
  if (!(tile >= 1 && Number.isInteger(tile))) throw new RangeError(`tile must be a positive integer, got ${tile}`);
  if (!(halo >= 0 && Number.isInteger(halo))) throw new RangeError(`halo must be a non-negative integer, got ${halo}`);
  const xs = axis(width, tile, halo);
  const ys = axis(height, tile, halo);
  const plans: TilePlan[] = [];
  for (const [cy, ch, wy, wh] of ys)
    for (const [cx, cw, wx, ww] of xs) plans.push({ core: { x: cx, y: cy, w: cw, h: ch }, window: { x: wx, y: wy, w: ww, h: wh } });
  return plans;
}

/** [coreStart, coreLength, windowStart, windowLength] along one axis. */
function axis(size: number, tile: number, halo: number): [number, number, number, number][] {
  const win = Math.min(tile + 2 * halo, size);
  const out: [number, number, number, number][] = [];
  for (let c = 0; c < size; c += tile) {
    const len = Math.min(tile, size - c);
    const start = Math.min(Math.max(0, c - halo), size - win);
    out.push([c, len, start, win]);
  }
  return out;
}

/**
 * The part of `r` (output pixels) inside an LR rectangle `core` at scale `s`, relative to `r`'s corner: a
 * tile's share of a block it only partly covers.
 */
export function pieceRect(r: Rect, core: Rect, s: number): Rect {
  const x0 = Math.max(r.x, core.x * s),
    x1 = Math.min(r.x + r.w, (core.x + core.w) * s);
  const y0 = Math.max(r.y, core.y * s),
    y1 = Math.min(r.y + r.h, (core.y + core.h) * s);
  return { x: x0 - r.x, y: y0 - r.y, w: x1 - x0, h: y1 - y0 };
}

/** `core` widened by `halo` on every side and clipped to a width x height image (not shifted, unlike planTiles). */
export function clippedWindow(core: Rect, halo: number, width: number, height: number): Rect {
  const x = Math.max(0, core.x - halo),
    y = Math.max(0, core.y - halo);
  return { x, y, w: Math.min(width, core.x + core.w + halo) - x, h: Math.min(height, core.y + core.h + halo) - y };
}

/** Where a copy goes: a row-major plane `width` pixels wide, and the corner in it. */
export interface Placement {
  data: Float32Array;
  width: number;
  x: number;
  y: number;
}

/**
 * Copies rectangle `from` of a row-major plane `srcW` wide (whose first pixel is item `base` of `src`, e.g.
 * one item of a batch) to the corner `to` in another plane: every crop and placement of tiles, windows and
 * bands goes through here.
 */
export function copyRect(src: Float32Array, srcW: number, from: Rect, to: Placement, base = 0): void {
  for (let r = 0; r < from.h; r++) {
    const i = base + (from.y + r) * srcW + from.x;
    to.data.set(src.subarray(i, i + from.w), (to.y + r) * to.width + to.x);
  }
}

/** Rectangle `r` of a row-major plane `srcW` wide (from item `base`), as an array of its own. */
export function cropRect(src: Float32Array, srcW: number, r: Rect, base = 0): Float32Array {
  const data = new Float32Array(r.w * r.h);
  copyRect(src, srcW, r, { data, width: r.w, x: 0, y: 0 }, base);
  return data;
}
