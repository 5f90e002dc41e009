// Image quality metrics of the evaluation protocol (docs/evaluation.md): PSNR and the SSIM of Wang et al.
// 2004 exactly as their reference code computes it (11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03,
// 'valid' window positions only), on images already mapped to [0, 1].
// Hand-written because the npm SSIM packages work on 8-bit RGBA ImageData: ssim.js quantises to 8-bit grey
// before computing (losing the 16-bit data's precision) and image-ssim uses flat, not Gaussian, windows.

/** SSIM window side, Gaussian sigma and stabilising constants (Wang et al. 2004). */
export const SSIM_WINDOW = 11;
export const SSIM_SIGMA = 1.5;
export const SSIM_K1 = 0.01;
export const SSIM_K2 = 0.03;

function checkPair(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new RangeError(`images differ in size: ${a.length} vs ${b.length} values`);
  if (a.length === 0) throw new RangeError('images are empty');
}

/**
 * Peak signal-to-noise ratio in dB: 10 log10(dataRange^2 / MSE). Identical images give Infinity (MSE 0).
 */
export function psnr(a: Float32Array, b: Float32Array, dataRange = 1): number {
  checkPair(a, b);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    sum += d * d;
  }
  const mse = sum / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((dataRange * dataRange) / mse);
}

/** The 1-D Gaussian of the SSIM window, normalised to sum 1 (its outer product is MATLAB's fspecial('gaussian', 11, 1.5)). */
export function gaussianWindow(size = SSIM_WINDOW, sigma = SSIM_SIGMA): Float64Array {
  const w = new Float64Array(size);
  const c = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) sum += w[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
  for (let i = 0; i < size; i++) w[i]! /= sum;
  return w;
}

/**
 * Mean SSIM of two width x height images in [0, 1] (data range L = 1). Local statistics are Gaussian-weighted
 * (population, not sample, variances). Only windows that lie wholly inside the image count ('valid'): the
 * SSIM map is (width - 10) x (height - 10) and nothing is padded. No downsampling first (the reference
 * MATLAB script shrinks images over 256 px; we do not). Needs width, height >= 11.
 * Computed in float64 with a separable filter streamed over an 11-row ring buffer, so memory is O(width).
 */
export function ssim(a: Float32Array, b: Float32Array, width: number, height: number): number {
  checkPair(a, b);
  if (a.length !== width * height) throw new RangeError(`${a.length} values for a ${width}x${height} image`);
  const n = SSIM_WINDOW;
  if (width < n || height < n) throw new RangeError(`SSIM needs images of at least ${n}x${n}, got ${width}x${height}`);
  const g = gaussianWindow();
  const c1 = SSIM_K1 ** 2;
  const c2 = SSIM_K2 ** 2;
  const ow = width - n + 1;
  const oh = height - n + 1;
  // Horizontally filtered rows of x, y, x^2, y^2, xy: ring slot r % n holds input row r.
  const ring = Array.from({ length: 5 }, () => new Float64Array(n * ow));
  const [hx, hy, hxx, hyy, hxy] = ring as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
  let total = 0;
  for (let r = 0; r < height; r++) {
    const row = r * width;
    const slot = (r % n) * ow;
    for (let x = 0; x < ow; x++) {
      let sx = 0,
        sy = 0,
        sxx = 0,
        syy = 0,
        sxy = 0;
      for (let k = 0; k < n; k++) {
        const w = g[k]!;
        const va = a[row + x + k]!;
        const vb = b[row + x + k]!;
        sx += w * va;
        sy += w * vb;
        sxx += w * va * va;
        syy += w * vb * vb;
        sxy += w * va * vb;
      }
      hx[slot + x] = sx;
      hy[slot + x] = sy;
      hxx[slot + x] = sxx;
      hyy[slot + x] = syy;
      hxy[slot + x] = sxy;
    }
    if (r < n - 1) continue;
    // Rows r-n+1 .. r are in the ring: one output row of the valid SSIM map.
    const first = r - n + 1;
    for (let x = 0; x < ow; x++) {
      let mx = 0,
        my = 0,
        mxx = 0,
        myy = 0,
        mxy = 0;
      for (let k = 0; k < n; k++) {
        const w = g[k]!;
        const i = ((first + k) % n) * ow + x;
        mx += w * hx[i]!;
        my += w * hy[i]!;
        mxx += w * hxx[i]!;
        myy += w * hyy[i]!;
        mxy += w * hxy[i]!;
      }
      const vx = mxx - mx * mx;
      const vy = myy - my * my;
      const cov = mxy - mx * my;
      total += ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
    }
  }
  return total / (ow * oh);
}
