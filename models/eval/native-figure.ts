// What a user sees on a real image: a native microscope field (no ground truth) magnified 8x by bicubic and
// by the model(s), side by side on the busiest region. The image is used as it came off the camera, so the
// model meets the camera's own noise and optics, not a synthetic LR.
import path from 'node:path';
import type { EngineChoice } from '../engine/backend';
import { ImageSource } from '../io/image-source';
import { resolveModel } from '../registry';
import { cropRect } from '../tiling';
import { modelLevels, resizeBaseline } from './evaluate';
import { makeFigure, nearestUp, type FigurePanel } from './figure';
import { evalEngine } from './eval-engine';
import { percentilesOf, type EvalPair } from './pairs';

export interface NativeFigureOptions {
  /** Native region side in pixels (default 64) and its top-left (default: the busiest region). */
  size?: number;
  x?: number;
  y?: number;
  scale?: 2 | 4 | 8;
  /** Native pixels of context around the region given to every method (so no method sees an edge). */
  margin?: number;
  /** The engine the scores ran with (evalEngine: int8 by default on a calibrated model). */
  engine?: EngineChoice;
  threads?: number;
}

export async function nativeFigure(file: string, models: string[], o: NativeFigureOptions = {}): Promise<Buffer> {
  const scale = o.scale ?? 8,
    size = o.size ?? 64,
    margin = o.margin ?? 32;
  const src = await ImageSource.open(file);
  let whole: Float32Array;
  try {
    whole = await src.readRegion(0, 0, src.width, src.height);
  } finally {
    await src.close();
  }
  const { width, height, dtype } = src;
  const at = o.x !== undefined && o.y !== undefined ? { x: o.x, y: o.y } : busiest(whole, width, height, size, margin);
  // The region plus its margin, as an 'evaluation pair' whose LR is the native crop (there is no HR).
  const side = size + 2 * margin;
  const lr = cropRect(whole, width, { x: at.x - margin, y: at.y - margin, w: side, h: side });
  const { low, high } = await percentilesOf(whole, width, height, dtype);
  const W = side * scale;
  const pair: EvalPair = {
    name: path.basename(file),
    dtype,
    width: W,
    height: W,
    hr: new Float32Array(W * W),
    lr,
    lrWidth: side,
    lrHeight: side,
    low,
    high,
    scale,
  };
  const panels: FigurePanel[] = [
    { label: `native ${path.basename(file)} (${at.x},${at.y}), nearest`, data: nearestUp(pair) },
    { label: `bicubic ${scale}x`, data: await resizeBaseline(pair, 'cubic') },
  ];
  for (const spec of models) {
    const m = await resolveModel(spec);
    const backend = await evalEngine(m, { engine: o.engine, threads: o.threads });
    try {
      panels.push({ label: `phasesr ${path.basename(spec)} ${scale}x`, data: (await modelLevels(backend, pair)).at(-1)! });
    } finally {
      await backend.dispose();
    }
  }
  return makeFigure(pair, panels, { size: size * scale, x: margin * scale, y: margin * scale, zoom: 1 });
}

/** The size x size native window (with room for the margin) with the largest variance: cells, not background. */
function busiest(data: Float32Array, width: number, height: number, size: number, margin: number): { x: number; y: number } {
  let best = { x: margin, y: margin, v: -1 };
  for (let y = margin; y + size + margin <= height; y += size / 2) {
    for (let x = margin; x + size + margin <= width; x += size / 2) {
      let s = 0,
        s2 = 0;
      for (let r = 0; r < size; r++)
        for (let c = 0; c < size; c++) {
          const v = data[(y + r) * width + x + c]!;
          s += v;
          s2 += v * v;
        }
      const n = size * size;
      const v = s2 / n - (s / n) ** 2;
      if (v > best.v) best = { x, y, v };
    }
  }
  return best;
}
