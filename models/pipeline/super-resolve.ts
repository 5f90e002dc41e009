// Streams an image of any size through the model: band by band of tiles, each tile with a halo of at
// least the receptive field, micro-batched into engine calls. The stitched output equals whole-image
// inference (test/models/tiled-equals-whole.test.ts).
import type { LevelBatch, SuperResBackend } from '../engine/backend';
import { normalise } from '../io/normalisation';
import { copyRect, haloFor, planTiles, type TilePlan } from '../tiling';

/** What the pipeline reads: an image's size and raw (un-normalised) pixels of any region. */
export interface RegionReader {
  readonly width: number;
  readonly height: number;
  readRegion(x: number, y: number, w: number, h: number): Promise<Float32Array>;
}

export interface SuperResolveOptions {
  /** Tile side in LR pixels (the core; the window adds the halo). */
  tile: number;
  /** Which cascade output to keep: 1 = 2x, 2 = 4x, 3 = 8x. */
  level: number;
  /** Percentile normalisation computed once for the whole image: low -> 0, high -> 1. */
  low: number;
  high: number;
  /** Tiles per engine call. */
  batch?: number;
  /** LR pixels of context around each tile; default (and minimum for exact results) haloFor(config). */
  halo?: number;
  onProgress?: (doneTiles: number, totalTiles: number) => void;
  /** Checked between engine calls: an abort stops the run with the signal's reason. */
  signal?: AbortSignal;
}

/** A band of finished output rows, in normalised units (0..1 spans the input's low..high). */
export interface OutputBand {
  /** First output row of the band. */
  y: number;
  height: number;
  width: number;
  data: Float32Array;
}

export async function superResolve(
  src: RegionReader,
  backend: SuperResBackend,
  opts: SuperResolveOptions,
  onBand: (band: OutputBand) => Promise<void>,
): Promise<void> {
  const s = 2 ** opts.level;
  const levels = Math.log2(backend.config.scale);
  if (!Number.isInteger(opts.level) || opts.level < 1 || opts.level > levels) {
    throw new RangeError(`level ${opts.level} is not an output of this ${backend.config.scale}x model (1..${levels})`);
  }
  const batch = Math.max(1, opts.batch ?? 4);
  const plans = planTiles(src.width, src.height, opts.tile, opts.halo ?? haloFor(backend.config));
  const bands = groupBy(plans, (p) => p.core.y);
  const outW = src.width * s;
  let done = 0;
  for (const band of bands) {
    const { y: wy, h: wh } = band[0]!.window;
    const { y: cy, h: ch } = band[0]!.core;
    // One read per band: every window of the band shares its rows.
    const rows = normalise(await src.readRegion(0, wy, src.width, wh), opts.low, opts.high);
    const out = new Float32Array(ch * s * outW);
    // Tiles whose cores sit at the same place in their windows share engine calls, and each call names that
    // place (`need`), so the engine runs its cascade there only, not on the halo.
    for (const same of groupBy(band, (p) => `${p.core.x - p.window.x},${p.core.w}`)) {
      const first = same[0]!;
      const need = { x: first.core.x - first.window.x, y: cy - wy, w: first.core.w, h: ch };
      for (let i = 0; i < same.length; i += batch) {
        opts.signal?.throwIfAborted();
        const group = same.slice(i, i + batch);
        const ww = group[0]!.window.w;
        const input = new Float32Array(group.length * ww * wh);
        group.forEach((p, b) => {
          copyRect(rows, src.width, { x: p.window.x, y: 0, w: ww, h: wh }, { data: input, width: ww, x: 0, y: b * wh });
        });
        const lv = (await backend.run(input, group.length, wh, ww, need))[opts.level - 1]!;
        group.forEach((p, b) => {
          placeCore(p, lv, b, out, outW);
        });
        done += group.length;
        opts.onProgress?.(done, plans.length);
      }
    }
    await onBand({ y: cy * s, height: ch * s, width: outW, data: out });
  }
}

/** Copies a tile's core from its window's output at one level (batch item b) into the band buffer. */
function placeCore(p: TilePlan, lv: LevelBatch, b: number, out: Float32Array, outW: number): void {
  const s = lv.scale;
  // The output starts at lv.origin of the window (the engine may have computed less than all of it).
  const ox = lv.origin?.x ?? 0,
    oy = lv.origin?.y ?? 0;
  const core = { x: (p.core.x - p.window.x - ox) * s, y: (p.core.y - p.window.y - oy) * s, w: p.core.w * s, h: p.core.h * s };
  copyRect(lv.data, lv.width, core, { data: out, width: outW, x: p.core.x * s, y: 0 }, b * lv.width * lv.height);
}

function groupBy<T, K>(items: T[], key: (t: T) => K): T[][] {
  const groups = new Map<K, T[]>();
  for (const it of items) {
    const k = key(it);
    const g = groups.get(k);
    if (g) g.push(it);
    else groups.set(k, [it]);
  }
  return [...groups.values()];
}
