// Raw tiles (the image's own 16-bit or float intensities) drawn in the browser through the display mapping
// (contrast limits, gamma, colormap, plugin stages), as napari and Fiji map the data itself rather than an
// 8-bit copy of it. Every tile keeps its samples beside the canvas OpenSeadragon draws; a new mapping redraws
// those canvases in place (no refetch). The view's histogram and auto-contrast read the samples too.
import { unfilterF32, unfilterU16, type Encoding, type ImageInfo } from '../../server/protocol';
import { colormapAt, type DisplaySettings } from './display';

/** A decoded tile: where it is and its samples in intensity units. */
export interface RawTile {
  imageId: string;
  level: number;
  x: number;
  y: number;
  width: number;
  height: number;
  data: Uint16Array | Float32Array;
}

/** Mapping table entries over [min, max]: finer than the 256 output levels, even after a strong gamma. */
const LUT_SIZE = 4096;

/** The raw encoding the viewer asks for: deflated and filtered, 16-bit for integer images, float for float. */
export function rawEncoding(img: ImageInfo): Encoding {
  return img.dtype === 'float32' ? 'f32z' : 'u16z';
}

/** A tile frame's payload -> samples. */
export async function decodeRawTile(payload: Uint8Array, encoding: Encoding, width: number): Promise<Uint16Array | Float32Array> {
  if (encoding === 'u16') return new Uint16Array(payload.slice().buffer);
  if (encoding === 'f32') return new Float32Array(payload.slice().buffer);
  if (encoding !== 'u16z' && encoding !== 'f32z') throw new Error(`not a raw encoding: ${encoding}`);
  const stream = new Blob([payload as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate'));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  return encoding === 'u16z' ? unfilterU16(bytes, width) : unfilterF32(bytes);
}

export class RawTileRenderer {
  readonly #lut = new Uint32Array(LUT_SIZE);
  #min = 0;
  #scale = 1;
  /** Canvases OpenSeadragon may still draw; once it drops one, the garbage collector takes it and its samples. */
  #live: WeakRef<CanvasRenderingContext2D>[] = [];
  readonly #tiles = new WeakMap<CanvasRenderingContext2D, RawTile>();

  /** Sets the mapping: intensity -> t in 0..1 over [min, max], ^gamma, plugin stages, colormap. */
  setMapping(s: DisplaySettings, stages: ((t: number) => number)[]): void {
    const span = Math.max(1e-12, s.max - s.min);
    this.#min = s.min;
    this.#scale = (LUT_SIZE - 1) / span;
    for (let i = 0; i < LUT_SIZE; i++) {
      let t = (i / (LUT_SIZE - 1)) ** s.gamma;
      for (const f of stages) t = Math.min(1, Math.max(0, f(t)));
      const [r, g, b] = colormapAt(s.colormap, t);
      this.#lut[i] = ((0xff << 24) | (Math.round(b) << 16) | (Math.round(g) << 8) | Math.round(r)) >>> 0;
    }
  }

  /** A canvas holding `tile` drawn with the current mapping (kept up to date by redrawAll). */
  canvasFor(tile: RawTile): CanvasRenderingContext2D {
    const canvas = document.createElement('canvas');
    canvas.width = tile.width;
    canvas.height = tile.height;
    const ctx = canvas.getContext('2d')!;
    this.#tiles.set(ctx, tile);
    this.#live.push(new WeakRef(ctx));
    this.#draw(ctx, tile);
    return ctx;
  }

  /** Redraws every live tile with the current mapping; returns how many. */
  redrawAll(): number {
    const live: WeakRef<CanvasRenderingContext2D>[] = [];
    for (const ref of this.#live) {
      const ctx = ref.deref();
      const tile = ctx && this.#tiles.get(ctx);
      if (!ctx || !tile) continue;
      live.push(ref);
      this.#draw(ctx, tile);
    }
    this.#live = live;
    return live.length;
  }

  /** Live tiles of an image (for the view's statistics). */
  tiles(imageId: string): RawTile[] {
    const out: RawTile[] = [];
    for (const ref of this.#live) {
      const ctx = ref.deref();
      const t = ctx && this.#tiles.get(ctx);
      if (t?.imageId === imageId) out.push(t);
    }
    return out;
  }

  #draw(ctx: CanvasRenderingContext2D, t: RawTile): void {
    const img = ctx.createImageData(t.width, t.height);
    const px = new Uint32Array(img.data.buffer);
    const { data } = t;
    const lut = this.#lut,
      min = this.#min,
      scale = this.#scale,
      top = LUT_SIZE - 1;
    for (let i = 0; i < data.length; i++) {
      const k = (data[i]! - min) * scale + 0.5;
      px[i] = lut[k > 0 ? (k < top ? k | 0 : top) : 0]!; // NaN -> 0
    }
    ctx.putImageData(img, 0, 0);
  }
}

/**
 * Samples (intensity units) of the finest tiles that cover the native-pixel rectangle `view`, at most about
 * `max` of them, evenly strided; the image's saturated value (dtype maximum) left out when `saturated` is given.
 */
export function viewSamples(
  tiles: RawTile[],
  img: ImageInfo,
  view: { x0: number; y0: number; x1: number; y1: number },
  max = 200_000,
  saturated?: number,
): Float32Array {
  const covering = (t: RawTile): boolean => {
    const f = 2 ** (img.nativeLevel - t.level) * img.tileSize; // native pixels per tile
    return t.x * f < view.x1 && (t.x + 1) * f > view.x0 && t.y * f < view.y1 && (t.y + 1) * f > view.y0;
  };
  const inView = tiles.filter(covering);
  const level = Math.max(-1, ...inView.map((t) => t.level));
  const use = inView.filter((t) => t.level === level);
  const parts: { t: RawTile; x0: number; y0: number; x1: number; y1: number }[] = [];
  let n = 0;
  for (const t of use) {
    const s = 2 ** (t.level - img.nativeLevel); // level pixels per native pixel
    const ox = t.x * img.tileSize,
      oy = t.y * img.tileSize;
    const x0 = Math.max(0, Math.floor(view.x0 * s) - ox),
      y0 = Math.max(0, Math.floor(view.y0 * s) - oy);
    const x1 = Math.min(t.width, Math.ceil(view.x1 * s) - ox),
      y1 = Math.min(t.height, Math.ceil(view.y1 * s) - oy);
    if (x1 <= x0 || y1 <= y0) continue;
    parts.push({ t, x0, y0, x1, y1 });
    n += (x1 - x0) * (y1 - y0);
  }
  const step = Math.max(1, Math.floor(n / max));
  const out: number[] = [];
  let k = 0;
  for (const p of parts) {
    for (let y = p.y0; y < p.y1; y++) {
      for (let x = p.x0; x < p.x1; x++, k++) {
        if (k % step !== 0) continue;
        const v = p.t.data[y * p.t.width + x]!;
        if (v !== saturated && Number.isFinite(v)) out.push(v);
      }
    }
  }
  return Float32Array.from(out);
}
