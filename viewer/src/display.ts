// Display mapping, as napari's image layer controls: contrast limits (in the image's intensity units),
// gamma and a colormap, plus stages plugins add. Tiles arrive display-mapped to 8 bits (the image's 0.1 and
// 99.9 percentiles -> 0 and 255), so the mapping is one 256-entry lookup table per channel, applied to the
// drawn view as an SVG feComponentTransfer filter: changing contrast never refetches or redraws tiles.

export interface DisplaySettings {
  /** Contrast limits in intensity units, inside [low, high] of the image's percentiles. */
  min: number;
  max: number;
  gamma: number;
  colormap: ColormapName;
}

type Rgb = [number, number, number];

/** Anchor colours, evenly spaced over 0..1 (matplotlib's perceptual maps, coarsely sampled). */
export const COLORMAPS = {
  gray: [[0, 0, 0], [255, 255, 255]],
  viridis: [[68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142], [31, 158, 137], [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37]],
  magma: [[0, 0, 4], [28, 16, 68], [79, 18, 123], [129, 37, 129], [181, 54, 122], [229, 80, 100], [251, 135, 97], [254, 194, 135], [252, 253, 191]],
  inferno: [[0, 0, 4], [31, 12, 72], [85, 15, 109], [136, 34, 106], [186, 54, 85], [227, 89, 51], [249, 140, 10], [249, 201, 50], [252, 255, 164]],
  green: [[0, 0, 0], [0, 255, 0]],
  cyan: [[0, 0, 0], [0, 255, 255]],
} as const satisfies Record<string, readonly (readonly [number, number, number])[]>;
export type ColormapName = keyof typeof COLORMAPS;

export function colormapAt(name: ColormapName, t: number): Rgb {
  const a = COLORMAPS[name];
  const p = Math.min(1, Math.max(0, t)) * (a.length - 1);
  const i = Math.min(a.length - 2, Math.floor(p));
  const f = p - i;
  const c0 = a[i]!, c1 = a[i + 1]!;
  return [c0[0] + (c1[0] - c0[0]) * f, c0[1] + (c1[1] - c0[1]) * f, c0[2] + (c1[2] - c0[2]) * f];
}

/** Lookup tables (0..1 per channel) for the 256 display values of tiles whose 0..255 spans [low, high]. */
export function buildLut(s: DisplaySettings, low: number, high: number, stages: ((t: number) => number)[]): { r: number[]; g: number[]; b: number[] } {
  const r: number[] = [], g: number[] = [], b: number[] = [];
  const span = Math.max(1e-12, s.max - s.min);
  for (let v = 0; v < 256; v++) {
    const intensity = low + (v / 255) * (high - low);
    let t = Math.min(1, Math.max(0, (intensity - s.min) / span)) ** s.gamma;
    for (const f of stages) t = Math.min(1, Math.max(0, f(t)));
    const c = colormapAt(s.colormap, t);
    r.push(c[0] / 255), g.push(c[1] / 255), b.push(c[2] / 255);
  }
  return { r, g, b };
}

/** Writes the LUT into the page's SVG filter `#id` (created on first use) and returns `url(#id)`. */
export function applyLutFilter(id: string, lut: { r: number[]; g: number[]; b: number[] }): string {
  const NS = 'http://www.w3.org/2000/svg';
  let filter: Element | null = document.getElementById(id);
  if (!filter) {
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('width', '0');
    svg.setAttribute('height', '0');
    svg.style.position = 'absolute';
    const f = document.createElementNS(NS, 'filter');
    f.id = id;
    f.setAttribute('color-interpolation-filters', 'sRGB');
    const ct = document.createElementNS(NS, 'feComponentTransfer');
    for (const ch of ['R', 'G', 'B']) ct.appendChild(document.createElementNS(NS, `feFunc${ch}`));
    f.appendChild(ct);
    svg.appendChild(f);
    filter = f;
    document.body.appendChild(svg);
  }
  const funcs = filter.querySelectorAll('feFuncR, feFuncG, feFuncB');
  [lut.r, lut.g, lut.b].forEach((table, i) => {
    const f = funcs[i]!;
    f.setAttribute('type', 'table');
    f.setAttribute('tableValues', table.map((x) => x.toFixed(4)).join(' '));
  });
  return `url(#${id})`;
}

/** Histogram (256 bins) of the grey values of a canvas region, sampling about `samples` pixels. */
export function canvasHistogram(canvas: HTMLCanvasElement, samples = 200_000): Uint32Array<ArrayBuffer> {
  const bins = new Uint32Array(256);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx || canvas.width === 0 || canvas.height === 0) return bins;
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  const n = canvas.width * canvas.height;
  const step = Math.max(1, Math.floor(n / samples));
  for (let i = 0; i < n; i += step) {
    if (data[i * 4 + 3]! === 0) continue; // outside the image
    bins[data[i * 4]!]!++;
  }
  return bins;
}

/** The display values (0..255) at the given fractions of a histogram's mass (auto-contrast). */
export function histogramQuantiles(bins: Uint32Array, lo: number, hi: number): [number, number] | undefined {
  let total = 0;
  for (const c of bins) total += c;
  if (total === 0) return undefined;
  const find = (q: number): number => {
    let acc = 0;
    for (let v = 0; v < 256; v++) {
      acc += bins[v]!;
      if (acc >= q * total) return v;
    }
    return 255;
  };
  return [find(lo), find(hi)];
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
