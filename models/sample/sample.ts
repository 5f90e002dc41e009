// Synthetic wide-field phase contrast image (10x Ph1, 0.87 um/px, 16-bit) made with the imaging
// model itself: a phase map of cells (cells.ts) through the Zernike ring optics (optics.ts) onto a
// noisy camera (noise.ts). Ships with the package because real images may not be committed.
import { phaseMap } from './cells';
import { DEFAULT_OPTICS, imagePhase, opticsMargin } from './optics';
import { expose } from './noise';

export interface SampleImage {
  width: number;
  height: number;
  /** Row-major, one channel, uint16 ADU. */
  data: Uint16Array;
  /** Pixel size of the specimen plane, as in the Usiigaci fields it imitates. */
  pixelSizeUm: number;
}

export const SAMPLE_PIXEL_SIZE_UM = 0.87;
/** Largest sample, in pixels. */
export const MAX_PIXELS = 8192 * 8192;

/** Deterministic for (width, height, seed): the same arguments give the same bytes. */
export function makeSample(opts: { width: number; height: number; seed?: number }): SampleImage {
  const { width, height } = opts;
  const seed = opts.seed ?? 1;
  for (const [k, v] of [
    ['width', width],
    ['height', height],
  ] as const)
    if (!Number.isInteger(v) || v < 1 || v > 65536) throw new RangeError(`${k} must be an integer in 1..65536, got ${v}`);
  // ~18 bytes of working memory per pixel: cap at 8192^2 (~1.2 GB).
  if (width * height > MAX_PIXELS) throw new RangeError(`width*height must be at most ${MAX_PIXELS}, got ${width * height}`);
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  // The phase map extends past the borders by the optics' reach, so border cells keep their halos.
  const m = opticsMargin(DEFAULT_OPTICS);
  const phase = phaseMap(width + 2 * m, height + 2 * m, seed);
  const rel = imagePhase(phase, width, height, DEFAULT_OPTICS);
  return { width, height, data: expose(rel, width, height, seed), pixelSizeUm: SAMPLE_PIXEL_SIZE_UM };
}
