// Display controls: contrast limits (intensity units) with a histogram of the view and auto-contrast,
// gamma, colormap. The mapping is applied to the raw 16-bit / float samples of every tile (raw-tiles.ts);
// the histogram and auto-contrast read the samples of the tiles in view, not the drawn 8-bit pixels.
import type OpenSeadragon from 'openseadragon';

import type { ImageInfo } from '../../../server/protocol';
import { COLORMAPS, drawHistogram, sampleHistogram, sampleQuantiles, type ColormapName, type DisplaySettings } from '../display';
import type { LayerStack } from '../layer-stack';
import { viewSamples } from '../raw-tiles';

/** Auto-contrast saturates this fraction of the view's pixels at each end (napari-like). */
const AUTO_SATURATION = 0.005;

export class DisplayPanel {
  settings: DisplaySettings = { min: 0, max: 1, gamma: 1, colormap: 'gray' };
  /** The sliders' and histogram's span: the image's 0.1/99.9 percentiles, widened to the default limits. */
  #range: [number, number] = [0, 1];
  #defaults: [number, number] = [0, 1];
  readonly #transforms = new Map<string, (t: number) => number>();
  #bins = new Uint32Array(256);
  #redraw: number | undefined;
  readonly #el = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

  constructor(
    private readonly viewer: OpenSeadragon.Viewer,
    private readonly stack: LayerStack,
  ) {
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
    this.#el<HTMLButtonElement>('reset-contrast').onclick = () => this.set({ min: this.#defaults[0], max: this.#defaults[1], gamma: 1 });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const later = (): void => {
      if (!timer)
        timer = setTimeout(() => {
          timer = undefined;
          this.refreshHistogram();
        }, 400);
    };
    viewer.addHandler('animation-finish', later);
    viewer.addHandler('tile-loaded', later);
    this.set({});
  }

  /** A new image: limits reset to its display range (percentiles without saturated pixels). */
  setImage(img: ImageInfo): void {
    const d = img.displayRange;
    this.#defaults = [d.low, d.high > d.low ? d.high : d.low + 1];
    this.#range = [Math.min(img.percentiles.low, d.low), Math.max(img.percentiles.high, this.#defaults[1])];
    this.set({ min: this.#defaults[0], max: this.#defaults[1], gamma: 1 });
  }

  set(patch: Partial<DisplaySettings>): void {
    this.settings = { ...this.settings, ...patch };
    const s = this.settings;
    this.stack.renderer.setMapping(s, [...this.#transforms.values()]);
    this.#scheduleRedraw();
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

  /** Contrast limits from the samples in view (0.5 % saturated at each end; the dtype's maximum left out). */
  autoContrast(): void {
    const img = this.stack.image;
    if (!img) return;
    const q = sampleQuantiles(this.#samples(img), AUTO_SATURATION, 1 - AUTO_SATURATION);
    if (!q) return;
    this.set({ min: q[0], max: q[1] > q[0] ? q[1] : q[0] + (img.dtype === 'float32' ? 1e-6 : 1) });
    this.refreshHistogram();
  }

  refreshHistogram(): void {
    const img = this.stack.image;
    if (!img) return;
    this.#bins = sampleHistogram(this.#samples(img), this.#range[0], this.#range[1]);
    this.#drawHistogram();
  }

  #samples(img: ImageInfo): Float32Array {
    const view = this.stack.view.visibleNativeRect(0);
    if (!view) return new Float32Array(0);
    const saturated = img.dtype === 'uint16' ? 65535 : img.dtype === 'uint8' ? 255 : undefined;
    return viewSamples(this.stack.renderer.tiles(img.imageId), img, view, 200_000, saturated);
  }

  /** One redraw of every tile per animation frame, however fast a slider moves. */
  #scheduleRedraw(): void {
    if (this.#redraw !== undefined) return;
    this.#redraw = requestAnimationFrame(() => {
      this.#redraw = undefined;
      this.stack.renderer.redrawAll();
      this.viewer.forceRedraw();
    });
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
