// The evaluation's test conditions: how the LR of an evaluation pair is made from its HR.
// 'box' is the paper's protocol (and what the hidden cross-lab test uses). 'blur-noise' is a microscope the
// training never saw exactly: a Gaussian PSF, point sampling at each block's centre (no area integration)
// and 1% Gaussian noise, a combination the training degradation does not draw (it integrates over an
// area and draws noise from a continuum).
import { mulberry32, gaussian } from '../params';
import { downsample, gaussianBlur } from './resample';

export const CONDITIONS = ['box', 'blur-noise'] as const;
export type Condition = (typeof CONDITIONS)[number];

/** Parameters of 'blur-noise', in HR pixels and in fractions of the HR's 0.1..99.9 percentile range. */
export const BLUR_NOISE = { sigmaPerScale: 0.5, noise: 0.01, seed: 7 } as const;

export function describeCondition(c: Condition, scale: number): string {
  return c === 'box'
    ? `LR = mean over ${scale}x${scale} blocks, rounded to the HR dtype`
    : `LR = Gaussian blur (sigma ${BLUR_NOISE.sigmaPerScale * scale} HR pixels), sampled at each ${scale}x${scale} block's centre, ` +
        `plus Gaussian noise of ${BLUR_NOISE.noise * 100}% of the HR's 0.1..99.9 percentile range (seeded), rounded to the HR dtype`;
}

/**
 * The unrounded LR of `hr` (w x h, a multiple of scale) under a non-box condition. `low`/`high` are the HR's
 * percentiles (the noise scale); `name` seeds the noise, so every run sees the same noise for an image.
 */
export function conditionLr(condition: Exclude<Condition, 'box'>, hr: Float32Array, w: number, h: number, scale: number, low: number, high: number, name: string): Float32Array {
  const lr = downsample(gaussianBlur(hr, w, h, BLUR_NOISE.sigmaPerScale * scale), w, h, scale, 'centre');
  let seed = BLUR_NOISE.seed;
  for (const ch of name) seed = (Math.imul(seed, 31) + ch.charCodeAt(0)) >>> 0;
  const randn = gaussian(mulberry32(seed));
  const sd = BLUR_NOISE.noise * (high - low);
  for (let i = 0; i < lr.length; i++) lr[i]! += sd * randn();
  return lr;
}
