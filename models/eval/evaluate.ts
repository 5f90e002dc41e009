// Scoring one pair: the metric mapping, the baselines, and a model run exactly as `phasesr sr` runs it
// (LR percentiles -> superResolve on the engine -> denormalise to the HR dtype, rounded).
import type { SuperResBackend } from '../engine/backend';
import { denormalise } from '../io/normalisation';
import { NORMALISATION_PERCENTILES } from '../pipeline/run-sr';
import { superResolve } from '../pipeline/super-resolve';
import { psnr, ssim } from './metrics';
import { boxDownsample, memoryImage, percentilesOf, type EvalPair } from './pairs';
import { CATMULL_ROM, LANCZOS3, sharpBicubic, upsample } from './resample';
import { CodedError } from '../error-codes';

/** The two baselines: bicubic (sharp's for 8/16-bit) and Lanczos-3 (see resample.ts for why not sharp's). */
export type BaselineKernel = 'cubic' | 'lanczos3';

/** Maps raw values through [low, high] -> [0, 1], clipped. A flat range (high <= low) uses span 1. */
export function toUnit(values: Float32Array, low: number, high: number): Float32Array {
  const s = high > low ? 1 / (high - low) : 1;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = (values[i]! - low) * s;
    out[i] = v > 0 ? (v < 1 ? v : 1) : 0; // NaN -> 0
  }
  return out;
}

/** An image the SR output of one cascade level is compared with. */
export interface LevelTarget {
  level: number;
  width: number;
  height: number;
  /** Raw values in the pair's dtype. */
  data: Float32Array;
  /** This target's own 0.1/99.9 percentiles (the metric mapping at this level). */
  low: number;
  high: number;
}

/** Cascade levels a pair is scored at: 1 .. log2(scale) (2x, 4x, 8x of the LR). */
export function pairLevels(pair: EvalPair): number {
  const n = Math.log2(pair.scale);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`scale ${pair.scale} is not a power of two >= 2`);
  return n;
}

/**
 * The reference at a level: 2^level x the LR, i.e. the HR area-downsampled by scale / 2^level (box mean,
 * rounded to the dtype); the top level is the HR itself.
 */
export async function levelTarget(pair: EvalPair, level: number): Promise<LevelTarget> {
  const top = pairLevels(pair);
  if (!Number.isInteger(level) || level < 1 || level > top) throw new RangeError(`level ${level} is not in 1..${top}`);
  if (level === top) return { level, width: pair.width, height: pair.height, data: pair.hr, low: pair.low, high: pair.high };
  const f = 2 ** (top - level);
  const width = pair.width / f;
  const height = pair.height / f;
  const data = boxDownsample(pair.hr, pair.width, pair.height, f, pair.dtype);
  return { level, width, height, data, ...(await percentilesOf(data, width, height, pair.dtype)) };
}

/** PSNR (data range 1) and SSIM of an SR image (raw values at the target's size) against a target. */
export function scoreAgainst(
  target: Pick<LevelTarget, 'width' | 'height' | 'data' | 'low' | 'high'>,
  sr: Float32Array,
): { psnr: number; ssim: number } {
  if (sr.length !== target.data.length) {
    throw new RangeError(`SR has ${sr.length} values, the reference ${target.width}x${target.height} has ${target.data.length}`);
  }
  const ref = toUnit(target.data, target.low, target.high);
  const out = toUnit(sr, target.low, target.high);
  return { psnr: psnr(ref, out, 1), ssim: ssim(ref, out, target.width, target.height) };
}

/** Scores one SR image (raw values at HR size) against the pair's HR. */
export function scorePair(pair: EvalPair, sr: Float32Array): { psnr: number; ssim: number } {
  return scoreAgainst({ width: pair.width, height: pair.height, data: pair.hr, low: pair.low, high: pair.high }, sr);
}

/**
 * Runs a model on a pair's LR the way `phasesr sr` does and returns raw outputs (HR dtype, rounded) per
 * level: [2x, 4x, 8x] for scale 8. The engine runs each tile once: the first pass (top level) records
 * every level's output of each engine call and the lower levels replay them.
 */
export async function modelLevels(
  backend: SuperResBackend,
  pair: EvalPair,
  opts: { tile?: number; batch?: number } = {},
): Promise<Float32Array[]> {
  const top = pairLevels(pair);
  if (backend.config.scale < pair.scale) {
    throw new CodedError('SR_ERR_USAGE', `model ${backend.config.name} is ${backend.config.scale}x; the evaluation is ${pair.scale}x`);
  }
  const lr = memoryImage(pair.lr, pair.lrWidth, pair.lrHeight, pair.dtype);
  const { low, high } = await percentilesOf(pair.lr, pair.lrWidth, pair.lrHeight, pair.dtype, NORMALISATION_PERCENTILES);
  const tape = recordingBackend(backend);
  const out: Float32Array[] = new Array(top);
  for (let level = top; level >= 1; level--) {
    const W = pair.lrWidth * 2 ** level;
    const data = new Float32Array(W * pair.lrHeight * 2 ** level);
    await superResolve(
      lr,
      level === top ? tape.record : tape.replay(),
      { tile: opts.tile ?? 64, batch: opts.batch ?? 4, level, low, high },
      async (band) => {
        data.set(denormalise(band.data, low, high, pair.dtype), band.y * W);
      },
    );
    out[level - 1] = data;
  }
  return out;
}

/**
 * A backend wrapper that keeps every call's outputs, and replays them to later passes over the same tile
 * plan (checked: each replayed call must get the very input recorded).
 */
function recordingBackend(backend: SuperResBackend): { record: SuperResBackend; replay(): SuperResBackend } {
  const tape: { input: Float32Array; out: Awaited<ReturnType<SuperResBackend['run']>> }[] = [];
  const record: SuperResBackend = {
    engine: backend.engine,
    config: backend.config,
    threads: backend.threads,
    async run(input, n, h, w, need) {
      const out = await backend.run(input, n, h, w, need);
      tape.push({ input: input.slice(), out });
      return out;
    },
    dispose: () => backend.dispose(),
  };
  const replay = (): SuperResBackend => {
    let i = 0;
    return {
      ...record,
      async run(input) {
        const t = tape[i++];
        if (!t || t.input.length !== input.length || !t.input.every((v, k) => v === input[k])) {
          throw new Error('replayed engine call does not match the recorded one');
        }
        return t.out;
      },
    };
  };
  return { record, replay };
}

/** A baseline upsample of the pair's LR to a level (default: the top, HR size), in the HR dtype. */
export async function resizeBaseline(pair: EvalPair, kernel: BaselineKernel, level = pairLevels(pair)): Promise<Float32Array> {
  const s = 2 ** level;
  if (kernel === 'cubic' && pair.dtype !== 'float32') return sharpBicubic(pair.lr, pair.lrWidth, pair.lrHeight, s, pair.dtype);
  return upsample(pair.lr, pair.lrWidth, pair.lrHeight, s, kernel === 'cubic' ? CATMULL_ROM : LANCZOS3, pair.dtype);
}
