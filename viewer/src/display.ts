// Display mapping, as napari's image layer controls: contrast limits (in the image's intensity units),
// gamma and a colormap, plus stages plugins add. Tiles arrive raw (16-bit or float, raw-tiles.ts), so the
// mapping applies to the data itself; these are its settings, colormaps and the view's statistics.

export interface DisplaySettings {
  /** Contrast limits in intensity units. */
  min: number;
  max: number;
  gamma: number;
  colormap: ColormapName;
}

type Rgb = [number, number, number];

/** Anchor colours, evenly spaced over 0..1 (matplotlib's perceptual maps, coarsely sampled). */
export const COLORMAPS = {
  gray: [
    [0, 0, 0],
    [255, 255, 255],
  ],
  viridis: [
    [68, 1, 84],
    [72, 40, 120],
    [62, 74, 137],
    [49, 104, 142],
    [38, 130, 142],
    [31, 158, 137],
    [53, 183, 121],
    [109, 205, 89],
    [180, 222, 44],
    [253, 231, 37],
  ],
  magma: [
    [0, 0, 4],
    [28, 16, 68],
    [79, 18, 123],
    [129, 37, 129],
    [181, 54, 122],
    [229, 80, 100],
    [251, 135, 97],
    [254, 194, 135],
    [252, 253, 191],
  ],
  inferno: [
    [0, 0, 4],
    [31, 12, 72],
    [85, 15, 109],
    [136, 34, 106],
    [186, 54, 85],
    [227, 89, 51],
    [249, 140, 10],
    [249, 201, 50],
    [252, 255, 164],
  ],
  green: [
    [0, 0, 0],
    [0, 255, 0],
  ],
  cyan: [
    [0, 0, 0],
    [0, 255, 255],
  ],
} as const satisfies Record<string, readonly (readonly [number, number, number])[]>;
export type ColormapName = keyof typeof COLORMAPS;

export function colormapAt(name: ColormapName, t: number): Rgb {
  const a = COLORMAPS[name];
  const p = Math.min(1, Math.max(0, t)) * (a.length - 1);
  const i = Math.min(a.length - 2, Math.floor(p));
  const f = p - i;
  const c0 = a[i]!,
    c1 = a[i + 1]!;
  return [c0[0] + (c1[0] - c0[0]) * f, c0[1] + (c1[1] - c0[1]) * f, c0[2] + (c1[2] - c0[2]) * f];
}

/** Histogram (`bins` bins over [lo, hi], values outside clipped to the ends) of samples in intensity units. */
export function sampleHistogram(samples: Float32Array, lo: number, hi: number, bins = 256): Uint32Array<ArrayBuffer> {
  const out = new Uint32Array(bins);
  const k = bins / Math.max(1e-12, hi - lo);
  for (const v of samples) out[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) * k)))]!++;
  return out;
}

/** The values at fractions `lo` and `hi` of the samples (auto-contrast); undefined when there are none. */
export function sampleQuantiles(samples: Float32Array, lo: number, hi: number): [number, number] | undefined {
  if (samples.length === 0) return undefined;
  const s = Float32Array.from(samples).sort();
  const at = (q: number): number => s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]!;
  return [at(lo), at(hi)];
}

/** Draws the histogram (log counts) with the contrast limits as markers. */
export function drawHistogram(canvas: HTMLCanvasElement, bins: Uint32Array, limits: [number, number]): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  let peak = 1;
  for (const c of bins) peak = Math.max(peak, Math.log1p(c));
  ctx.fillStyle = '#8fa3bf';
  for (let v = 0; v < 256; v++) {
    const bh = (Math.log1p(bins[v]!) / peak) * (h - 2);
    ctx.fillRect((v / 256) * w, h - bh, Math.max(1, w / 256), bh);
  }
  ctx.strokeStyle = '#f0c040';
  for (const l of limits) {
    const x = Math.round((l / 255) * (w - 1)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x, 0);
    ctx.lineTo(x, h);
    ctx.stroke();
  }
}
