// Whole-image percentiles for normalisation, computed once by streaming horizontal bands: exact histograms
// for integer images, a sorted sample for float32; huge images read only every k-th band.
import type { ImageSource } from './image-source';

/** What percentiles need of an image: a file (ImageSource) or pixels already in memory. */
export type PercentileSource = Pick<ImageSource, 'width' | 'height' | 'dtype' | 'readRegion'>;

/** Percentile values and whether they come from a sample (some bands or pixels skipped). */
export interface PercentileResult {
  low: number;
  high: number;
  sampled: boolean;
  /**
   * The same percentiles of the pixels below the dtype's maximum (255 / 65535): saturated pixels left out,
   * as default display limits need. Equal to low/high for float32 (no saturation value).
   */
  unsaturated: { low: number; high: number };
}

/** Options of {@link imagePercentiles}. */
export interface PercentileOptions {
  /** Pixels per band read (default 4 Mpix). */
  bandPixels?: number;
  /** Above this many pixels only every k-th band is read (default 64 Mpix). */
  maxPixels?: number;
  /** Most float32 values kept for the sort (default 4M). */
  maxFloatSamples?: number;
}

/** Value at percentile p (0..100) of n sorted values given by rank lookup: numpy's default ('linear'). */
function interpolate(p: number, n: number, at: (rank: number) => number): number {
  const pos = (Math.min(100, Math.max(0, p)) / 100) * (n - 1);
  const lo = Math.floor(pos);
  const a = at(lo);
  return lo + 1 < n ? a + (at(lo + 1) - a) * (pos - lo) : a;
}

/**
 * The `pcts` percentiles (default 0.1 and 99.9) of all finite pixel values, numpy 'linear' definition.
 * A flat or all-NaN image gives low = high (0 when nothing is finite).
 */
export async function imagePercentiles(
  src: PercentileSource,
  pcts: [number, number] = [0.1, 99.9],
  opts: PercentileOptions = {},
): Promise<PercentileResult> {
  const { width, height, dtype } = src;
  const bandRows = Math.max(1, Math.min(height, Math.floor((opts.bandPixels ?? 4 << 20) / width)));
  const bands = Math.ceil(height / bandRows);
  const step = Math.max(1, Math.ceil((width * height) / (opts.maxPixels ?? 64 << 20)));
  let sampled = step > 1;
  const integer = dtype !== 'float32';
  const hist = integer ? new Float64Array(dtype === 'uint8' ? 256 : 65536) : undefined;
  const maxKeep = opts.maxFloatSamples ?? 4 << 20;
  const bandsRead = Math.ceil(bands / step);
  // float32: keep every s-th pixel so the sample fits maxKeep (s from the pixels we will read).
  const stride = Math.max(1, Math.ceil((bandsRead * bandRows * width) / maxKeep));
  if (!integer && stride > 1) sampled = true;
  const keep: number[] = [];
  let n = 0;
  for (let b = 0; b < bands; b += step) {
    const y = b * bandRows;
    const band = await src.readRegion(0, y, width, Math.min(bandRows, height - y));
    if (hist) {
      for (let i = 0; i < band.length; i++) {
        const v = band[i]!;
        if (v >= 0 && v < hist.length) {
          hist[v | 0]!++;
          n++;
        }
      }
    } else {
      for (let i = 0; i < band.length; i += stride) if (Number.isFinite(band[i]!)) keep.push(band[i]!);
    }
  }
  if (hist) {
    if (n === 0) return { low: 0, high: 0, sampled, unsaturated: { low: 0, high: 0 } };
    const cum = new Float64Array(hist.length);
    let c = 0;
    for (let i = 0; i < hist.length; i++) {
      c += hist[i]!;
      cum[i] = c;
    }
    const at = (rank: number): number => {
      // smallest value whose cumulative count exceeds rank
      let lo = 0,
        hi = cum.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cum[mid]! > rank) hi = mid;
        else lo = mid + 1;
      }
      return lo;
    };
    const low = interpolate(pcts[0], n, at),
      high = interpolate(pcts[1], n, at);
    // The ranks below the top value are the unsaturated pixels: the same lookup over fewer of them.
    const below = n - hist[hist.length - 1]!;
    const unsaturated = below > 0 ? { low: interpolate(pcts[0], below, at), high: interpolate(pcts[1], below, at) } : { low, high };
    return { low, high, sampled, unsaturated };
  }
  if (keep.length === 0) return { low: 0, high: 0, sampled, unsaturated: { low: 0, high: 0 } };
  const sorted = Float64Array.from(keep).sort();
  const at = (rank: number): number => sorted[rank]!;
  const low = interpolate(pcts[0], sorted.length, at),
    high = interpolate(pcts[1], sorted.length, at);
  return { low, high, sampled, unsaturated: { low, high } };
}
