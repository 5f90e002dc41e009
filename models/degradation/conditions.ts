// The evaluation's test conditions: how the LR of an evaluation pair is made from its HR.
// 'box' is the paper's protocol (and what the hidden cross-lab test uses). 'blur-noise' is a microscope the
// training never saw exactly: a Gaussian PSF, point sampling at each block's centre (no area integration)
// and 1% Gaussian noise, a combination the training degradation does not draw (it integrates over an
// area and draws noise from a continuum). 'other-scope' stands in for another lab's microscope as the
// hidden cross-lab test sees it: the same scene recorded with pixels twice as wide (cells half as many pixels
// across, so more detail per pixel than anything trained on) by an 8-bit camera, then the box-mean LR.
import { mulberry32, gaussian } from '../params';
import { downsample, gaussianBlur } from './resample';

export const CONDITIONS = ['box', 'blur-noise', 'other-scope'] as const;
export type Condition = (typeof CONDITIONS)[number];

/**
 * Parameters of 'other-scope': the HR is area-averaged over pitch x pitch pixels, then its 0.1..99.9
 * percentile range is stretched over [low8, high8] of an 8-bit camera (headroom both sides, as people expose).
 */
export const OTHER_SCOPE = { pitch: 2, low8: 16, high8: 240 } as const;

/** Parameters of 'blur-noise', in HR pixels and in fractions of the HR's 0.1..99.9 percentile range. */
export const BLUR_NOISE = { sigmaPerScale: 0.5, noise: 0.01, seed: 7 } as const;

export function describeCondition(c: Condition, scale: number, pitch: number = OTHER_SCOPE.pitch): string {
  if (c === 'other-scope') {
    return (
      `HR = mean over ${pitch}x${pitch} pixels (area), its 0.1..99.9 percentiles stretched to ${OTHER_SCOPE.low8}..${OTHER_SCOPE.high8} ` +
      `of 8 bits; LR = mean over ${scale}x${scale} blocks of that, rounded to 8 bits`
    );
  }
  return c === 'box'
    ? `LR = mean over ${scale}x${scale} blocks, rounded to the HR dtype`
    : `LR = Gaussian blur (sigma ${BLUR_NOISE.sigmaPerScale * scale} HR pixels), sampled at each ${scale}x${scale} block's centre, ` +
        `plus Gaussian noise of ${BLUR_NOISE.noise * 100}% of the HR's 0.1..99.9 percentile range (seeded), rounded to the HR dtype`;
}

/**
 * The unrounded LR of `hr` (w x h, a multiple of scale) under 'blur-noise' ('other-scope' changes the HR and then uses the box mean). `low`/`high` are the HR's
 * percentiles (the noise scale); `name` seeds the noise, so every run sees the same noise for an image.
 */
export function blurNoiseLr(hr: Float32Array, w: number, h: number, scale: number, low: number, high: number, name: string): Float32Array {
  const lr = downsample(gaussianBlur(hr, w, h, BLUR_NOISE.sigmaPerScale * scale), w, h, scale, 'centre');
  let seed = BLUR_NOISE.seed;
  for (const ch of name) seed = (Math.imul(seed, 31) + ch.charCodeAt(0)) >>> 0;
  const randn = gaussian(mulberry32(seed));
  const sd = BLUR_NOISE.noise * (high - low);
  for (let i = 0; i < lr.length; i++) lr[i]! += sd * randn();
  return lr;
}

/**
 * 'other-scope', second half (the first is pitchResample at OTHER_SCOPE.pitch, or eval --scope-pitch): the 8-bit camera, exposed so that
 * low..high (its percentiles) fill low8..high8.
 */
export function stretchTo8Bit(v: Float32Array, low: number, high: number): Float32Array {
  const k = (OTHER_SCOPE.high8 - OTHER_SCOPE.low8) / (high - low || 1);
  return v.map((x) => Math.min(255, Math.max(0, Math.round(OTHER_SCOPE.low8 + (x - low) * k))));
}
