// Display controls: contrast limits (intensity units) with a histogram of the view and auto-contrast,
// gamma, colormap. The mapping is a lookup table applied to the drawn canvas (display.ts); the histogram is
// read back from the same canvas before the filter, so it shows the tiles' own values.
import type OpenSeadragon from 'openseadragon';

import type { ImageInfo } from '../../../server/protocol';
import { applyLutFilter, buildLut, canvasHistogram, COLORMAPS, drawHistogram, histogramQuantiles, type ColormapName, type DisplaySettings } from '../display';
import type { LayerStack } from '../layer-stack';

const FILTER_ID = 'phasesr-lut';
/** Auto-contrast saturates this fraction of the view's pixels at each end (napari-like). */
const AUTO_SATURATION = 0.005;

export class DisplayPanel {
  settings: DisplaySettings = { min: 0, max: 1, gamma: 1, colormap: 'gray' };
  #range: [number, number] = [0, 1];
  readonly #transforms = new Map<string, (t: number) => number>();
  #bins = new Uint32Array(256);
  readonly #el = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

  constructor(private readonly viewer: OpenSeadragon.Viewer, private readonly stack: LayerStack) {
    const cm = this.#el<HTMLSelectElement>('colormap');
    for (const name of Object.keys(COLORMAPS)) cm.add(new Option(name, name));
    cm.onchange = () => this.set({ colormap: cm.value as ColormapName });
    const min = this.#el<HTMLInputElement>('contrast-min');
    const max = this.#el<HTMLInputElement>('contrast-max');
    min.oninput = () => this.set({ min: Math.min(this.#fromSlider(min.value), this.settings.max - this.#step()) });
    max.oninput = () => this.set({ max: Math.max(this.#fromSlider(max.value), this.settings.min + this.#step()) });
    const gamma = this.#el<HTMLInputElement>('gamma');
    gamma.oninput = () => this.set({ gamma: Number(gamma.value) });
    this.#el<HTMLButtonElement>('auto-contrast').onclick = () => this.autoContrast();
    this.#el<HTMLButtonElement>('reset-contrast').onclick = () => this.set({ min: this.#range[0], max: this.#range[1], gamma: 1 });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const later = (): void => {
      if (!timer) timer = setTimeout(() => { timer = undefined; this.refreshHistogram(); }, 400);
    };
    viewer.addHandler('animation-finish', later);
    viewer.addHandler('tile-loaded', later);
    this.set({});
  }

  /** A new image: limits reset to its full display range. */
  setImage(img: ImageInfo): void {
    this.#range = [img.percentiles.low, img.percentiles.high];
    this.set({ min: img.percentiles.low, max: img.percentiles.high, gamma: 1 });
  }

  set(patch: Partial<DisplaySettings>): void {
    this.settings = { ...this.settings, ...patch };
    const s = this.settings;
    const [low, high] = this.#range;
    const lut = buildLut(s, low, high, [...this.#transforms.values()]);
    const canvas = (this.viewer.drawer as unknown as { canvas: HTMLCanvasElement }).canvas;
    canvas.style.filter = applyLutFilter(FILTER_ID, lut);
    this.#el<HTMLInputElement>('contrast-min').value = String(this.#toSlider(s.min));
    this.#el<HTMLInputElement>('contrast-max').value = String(this.#toSlider(s.max));
    this.#el('contrast-min-out').textContent = fmt(s.min);
    this.#el('contrast-max-out').textContent = fmt(s.max);
    this.#el<HTMLInputElement>('gamma').value = String(s.gamma);
    this.#el('gamma-out').textContent = s.gamma.toFixed(2);
    this.#el<HTMLSelectElement>('colormap').value = s.colormap;
    this.#drawHistogram();
  }

  setTransform(id: string, fn: ((t: number) => number) | undefined): void {
    if (fn) this.#transforms.set(id, fn);
    else this.#transforms.delete(id);
    this.set({});
  }

  /** Contrast limits from the view's histogram (0.5 % saturated at each end). */
  autoContrast(): void {
    this.refreshHistogram();
    const q = histogramQuantiles(this.#bins, AUTO_SATURATION, 1 - AUTO_SATURATION);
    if (!q) return;
    const [low, high] = this.#range;
    const toI = (v: number): number => low + (v / 255) * (high - low);
    this.set({ min: toI(q[0]), max: toI(Math.max(q[1], q[0] + 1)) });
  }

  refreshHistogram(): void {
    const canvas = (this.viewer.drawer as unknown as { canvas: HTMLCanvasElement }).canvas;
    if (!this.stack.image) return;
    this.#bins = canvasHistogram(canvas);
    this.#drawHistogram();
  }

  #drawHistogram(): void {
    const [low, high] = this.#range;
    const toV = (i: number): number => ((i - low) / Math.max(1e-12, high - low)) * 255;
    drawHistogram(this.#el<HTMLCanvasElement>('histogram'), this.#bins, [toV(this.settings.min), toV(this.settings.max)]);
  }

  #step(): number {
    return (this.#range[1] - this.#range[0]) / 1000;
  }

  #fromSlider(v: string): number {
    return this.#range[0] + (Number(v) / 1000) * (this.#range[1] - this.#range[0]);
  }

  #toSlider(i: number): number {
    return Math.round(((i - this.#range[0]) / Math.max(1e-12, this.#range[1] - this.#range[0])) * 1000);
  }
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);
}
