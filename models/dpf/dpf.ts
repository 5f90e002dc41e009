// Diffraction Pattern Filters (Su et al. 2013): the phase contrast microscope's point spread function
// at 12 phase retardations. They enrich the generator's input and define the content loss.
import { somb } from './bessel';
import { spectralNorm } from './spectral-norm';

/** Optics of the DPF bank, as the paper's authors coded them. */
export const DPF_OPTICS = {
  /** Outer radius of the phase ring (R) and its width (W), in the authors' units. */
  R: 4,
  W: 0.8,
  /** Amplitude attenuation of the phase ring (zeta). */
  zeta: 0.8,
  /** Number of phase retardations theta_m = 2 pi m / M, m = 1..M. */
  M: 12,
} as const;

export const DPF_COUNT = DPF_OPTICS.M;

/** Airy pattern of the annular phase ring at distance rho (pixels) from the kernel centre. */
export function airy(rho: number, R: number = DPF_OPTICS.R, W: number = DPF_OPTICS.W): number {
  return Math.PI * R * R * somb(2 * R * rho) - Math.PI * (R - W) ** 2 * somb(2 * (R - W) * rho);
}

/**
 * DPF kernel psi_theta for theta = 2 pi m / M on a (2r+1)^2 grid, row-major, divided by its
 * spectral norm: psi = sin(theta) delta + (zeta cos(theta) - sin(theta)) airy.
 * Radially symmetric, so convolution and correlation with it are the same.
 */
export function dpfKernel(m: number, radius: number): Float64Array {
  if (!Number.isInteger(m) || m < 1 || m > DPF_OPTICS.M) throw new RangeError(`DPF index m must be 1..${DPF_OPTICS.M}, got ${m}`);
  if (!Number.isInteger(radius) || radius < 0) throw new RangeError(`DPF radius must be a non-negative integer, got ${radius}`);
  const theta = (2 * Math.PI * m) / DPF_OPTICS.M;
  const n = 2 * radius + 1;
  const k = new Float64Array(n * n);
  const a = DPF_OPTICS.zeta * Math.cos(theta) - Math.sin(theta);
  for (let y = -radius; y <= radius; y++)
    for (let x = -radius; x <= radius; x++) {
      const delta = x === 0 && y === 0 ? 1 : 0;
      k[(y + radius) * n + (x + radius)] = Math.sin(theta) * delta + a * airy(Math.hypot(x, y));
    }
  const s = spectralNorm(k, n);
  for (let i = 0; i < k.length; i++) k[i]! /= s;
  return k;
}

/**
 * Kernel radius at a pyramid level: level 0 is the LR input, level k its k-th x2 upsampling.
 * The paper uses 1 (3x3) at 32^2 and 64^2, 2 at 128^2 and 4 at 256^2: the radius doubles per level
 * from level 1 on, so that the filter covers the same physical neighbourhood at every level.
 */
export function dpfRadiusForLevel(level: number): number {
  if (!Number.isInteger(level) || level < 0) throw new RangeError(`level must be a non-negative integer, got ${level}`);
  return level <= 1 ? 1 : 2 ** (level - 1);
}

/**
 * The 12 kernels of one radius as a conv filter in HWIO layout [2r+1, 2r+1, 1, 12] (tfjs conv2d),
 * channel m-1 holding psi_{theta_m}.
 */
export function dpfBankHWIO(radius: number): { shape: [number, number, number, number]; data: Float32Array } {
  const n = 2 * radius + 1;
  const data = new Float32Array(n * n * DPF_COUNT);
  for (let m = 1; m <= DPF_COUNT; m++) {
    const k = dpfKernel(m, radius);
    for (let i = 0; i < n * n; i++) data[i * DPF_COUNT + (m - 1)] = k[i]!;
  }
  return { shape: [n, n, 1, DPF_COUNT], data };
}
