// The training degradation: what turns an HR crop into the LR the model learns from. Off, it is the paper's
// f x f box mean. On, each crop draws its own microscope: camera response (gamma, gain, offset), optical
// blur, the camera's sampling kernel, Poisson-Gaussian noise and bit depth, so that the model learns the
// mapping for many instruments instead of one, and learns to average noise instead of sharpening it.
// Values are in normalised units (0 and 1 = the image's 0.1 and 99.9 percentiles), as the model sees them.
import type { Mulberry32 } from '../params';
import { downsample, gaussianBlur, type DownKernel } from './resample';

/** The draw for one crop (kept for tests and for logging what a run trains on). */
export interface Degradation {
  gamma: number;
  gain: number;
  offset: number;
  /** Gaussian PSF std in HR pixels (0: none). */
  blurSigma: number;
  kernel: DownKernel;
  /** Noise std = sqrt(poisson * max(v, 0) + gauss^2), in normalised units (0: none). */
  poisson: number;
  gauss: number;
  /** Quantisation step in normalised units (0: none). */
  step: number;
}

export const NO_DEGRADATION: Degradation = { gamma: 1, gain: 1, offset: 0, blurSigma: 0, kernel: 'box', poisson: 0, gauss: 0, step: 0 };

/**
 * The share of crops whose LR is exactly the paper's box mean in a run that records none (made before
 * --box-share), so it resumes with the same draws. A new run records its own (run-options.ts DEFAULT_RECIPE).
 */
export const LEGACY_BOX_SHARE = 0.25;

/**
 * Draws a degradation. `boxShare` of the crops keep the paper's plain box mean exactly, since an
 * area-averaging camera is what most pipelines, and the box-mean test, assume; the rest draw a microscope.
 */
export function drawDegradation(rng: Mulberry32, scale: number, boxShare = LEGACY_BOX_SHARE): Degradation {
  const u = (a: number, b: number) => a + (b - a) * rng.next();
  const chance = (p: number) => rng.next() < p;
  if (chance(boxShare)) return { ...NO_DEGRADATION };
  const d: Degradation = { ...NO_DEGRADATION };
  if (chance(0.5)) {
    d.gamma = Math.exp(u(-0.35, 0.35));
    d.gain = Math.exp(u(-0.4, 0.4));
    d.offset = u(-0.25, 0.25);
  }
  // A PSF wider than the pixel pitch: up to 0.7 LR pixels of std (a box mean alone is ~0.29 LR pixels).
  if (chance(0.5)) d.blurSigma = u(0.1, 0.7) * scale;
  const k = rng.next();
  d.kernel = k < 0.5 ? 'box' : k < 0.75 ? 'bilinear' : 'bicubic';
  if (chance(0.7)) {
    d.gauss = u(0, 0.04);
    d.poisson = chance(0.5) ? u(0, 0.002) : 0;
  }
  if (chance(0.5)) {
    const bits = [8, 12, 16][Math.floor(rng.next() * 3)]!;
    // The image's 0.1..99.9 percentile range covers a fraction of the camera's full range.
    d.step = 1 / ((2 ** bits - 1) * u(0.25, 1));
  }
  return d;
}

/** Gamma, gain and offset: applied to the HR too, since they change the scene as the camera records it. */
export function applyResponse(hr: Float32Array, d: Degradation): Float32Array {
  if (d.gamma === 1 && d.gain === 1 && d.offset === 0) return hr;
  const out = new Float32Array(hr.length);
  for (let i = 0; i < hr.length; i++) {
    const v = hr[i]!;
    out[i] = d.gain * (v > 0 ? v ** d.gamma : v) + d.offset;
  }
  return out;
}

/** The LR of an HR crop (after applyResponse) under `d`; `rng` draws the noise. */
export function degrade(hr: Float32Array, size: number, scale: number, d: Degradation, rng: Mulberry32): Float32Array {
  const blurred = d.blurSigma > 0 ? gaussianBlur(hr, size, size, d.blurSigma) : hr;
  const lr = downsample(blurred, size, size, scale, d.kernel);
  if (d.gauss > 0 || d.poisson > 0) {
    for (let i = 0; i < lr.length; i++) {
      const sd = Math.sqrt(d.poisson * Math.max(lr[i]!, 0) + d.gauss * d.gauss);
      lr[i]! += sd * normal(rng);
    }
  }
  if (d.step > 0) for (let i = 0; i < lr.length; i++) lr[i] = Math.round(lr[i]! / d.step) * d.step;
  return lr;
}

function normal(rng: Mulberry32): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}
