// Camera side of the sample: mild uneven illumination, sCMOS noise (shot + read) and 16-bit
// quantisation, with levels matched to the Usiigaci fields (background ~31700 ADU, noise ~330 ADU).
import { gaussian, mulberry32 } from '../params';
import { fbm } from './fields';

export const CAMERA = {
  /** Background level (ADU); the real fields are background-corrected to a median of ~31700-32100. */
  background: 31800,
  /** ADU per photo-electron: shot-noise variance = gain * signal; ~330 ADU total at background. */
  gain: 2.9,
  /** Read noise (ADU, rms). */
  readNoise: 120,
  /** Relative amplitude of the illumination's slow variation (real fields are flat-field corrected). */
  illumination: 0.025,
  /**
   * Neighbour weight of a small smoothing of the noise: the real fields' background noise has a
   * lag-1 correlation of ~0.3 (binning and correction resample it), white noise would look too crisp.
   */
  noiseCorrelation: 0.13,
};

/**
 * ADU image (uint16, saturating at 65535 as the real camera does) from a relative intensity image
 * (1 = background). Deterministic for a seed.
 */
export function expose(rel: Float32Array, width: number, height: number, seed: number, cam = CAMERA): Uint16Array {
  const rand = mulberry32(seed ^ 0x5eed);
  const gauss = gaussian(rand);
  const n = width * height;
  // Unit white noise, then separable [a, 1, a] smoothing, renormalised to unit variance.
  const white = new Float32Array(n);
  for (let i = 0; i < n; i++) white[i] = gauss();
  const a = cam.noiseCorrelation,
    norm = 1 / (1 + 2 * a * a);
  const tmp = new Float32Array(n);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const l = x > 0 ? white[i - 1]! : white[i]!,
        r = x + 1 < width ? white[i + 1]! : white[i]!;
      tmp[i] = white[i]! + a * (l + r);
    }
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const u = y > 0 ? tmp[i - width]! : tmp[i]!,
        d = y + 1 < height ? tmp[i + width]! : tmp[i]!;
      white[i] = (tmp[i]! + a * (u + d)) * norm;
    }
  const out = new Uint16Array(n);
  const illumSeed = seed * 31 + 17;
  // Illumination: one slow fbm over the field (period ~ the field's size), so it is mild everywhere.
  const scale = Math.max(width, height) * 0.8;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const illum = 1 + cam.illumination * fbm(x, y, scale, 2, illumSeed);
      const s = Math.max(0, rel[i]! * illum * cam.background);
      const sigma = Math.sqrt(cam.gain * s + cam.readNoise * cam.readNoise);
      out[i] = Math.max(0, Math.min(65535, Math.round(s + sigma * white[i]!)));
    }
  return out;
}
