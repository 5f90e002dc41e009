// The side-by-side figure of the model card and docs: LR | bicubic | model(s) | HR on the same crop of
// a validation image, each panel display-mapped through the HR's percentiles and labelled with its score.
import sharp, { type OverlayOptions } from 'sharp';
import { scoreAgainst, toUnit } from './evaluate';
import type { EvalPair } from './pairs';

export interface FigurePanel {
  label: string;
  /** Raw values at HR size (the pair's width x height); for the LR panel pass it nearest-upsampled. */
  data: Float32Array;
  /** Add PSNR/SSIM of the whole image to the label. */
  scored?: boolean;
}

export interface FigureOptions {
  /** HR crop side (default 128) and its top-left; default: the crop with the most detail. */
  size?: number;
  x?: number;
  y?: number;
  /** Display magnification of each panel (nearest neighbour, default 3). */
  zoom?: number;
}

/** The LR nearest-upsampled to HR size, so that it shows its real pixels in the figure. */
export function nearestUp(pair: EvalPair): Float32Array {
  const s = pair.scale;
  const out = new Float32Array(pair.width * pair.height);
  for (let y = 0; y < pair.height; y++)
    for (let x = 0; x < pair.width; x++) out[y * pair.width + x] = pair.lr[Math.floor(y / s) * pair.lrWidth + Math.floor(x / s)]!;
  return out;
}

/** The size x size window (on a grid of size/2 steps) with the largest HR variance: cells, not background. */
export function busiestCrop(pair: EvalPair, size: number): { x: number; y: number } {
  let best = { x: 0, y: 0, v: -1 };
  for (let y = 0; y + size <= pair.height; y += size / 2) {
    for (let x = 0; x + size <= pair.width; x += size / 2) {
      let s = 0,
        s2 = 0;
      for (let r = 0; r < size; r += 2)
        for (let c = 0; c < size; c += 2) {
          const v = pair.hr[(y + r) * pair.width + x + c]!;
          s += v;
          s2 += v * v;
        }
      const n = (size / 2) ** 2;
      const v = s2 / n - (s / n) ** 2;
      if (v > best.v) best = { x, y, v };
    }
  }
  return { x: best.x, y: best.y };
}

export async function makeFigure(pair: EvalPair, panels: FigurePanel[], o: FigureOptions = {}): Promise<Buffer> {
  const size = o.size ?? 128;
  const zoom = o.zoom ?? 3;
  const at = o.x !== undefined && o.y !== undefined ? { x: o.x, y: o.y } : busiestCrop(pair, size);
  const side = size * zoom;
  const labelH = 28,
    gap = 6;
  const target = { width: pair.width, height: pair.height, data: pair.hr, low: pair.low, high: pair.high };
  const tiles: OverlayOptions[] = [];
  for (const [i, p] of panels.entries()) {
    const unit = toUnit(p.data, pair.low, pair.high);
    const crop = Buffer.alloc(size * size);
    for (let r = 0; r < size; r++)
      for (let c = 0; c < size; c++) crop[r * size + c] = Math.round(unit[(at.y + r) * pair.width + at.x + c]! * 255);
    const img = await sharp(crop, { raw: { width: size, height: size, channels: 1 } })
      .resize(side, side, { kernel: 'nearest' })
      .png()
      .toBuffer();
    const left = i * (side + gap);
    tiles.push({ input: img, left, top: labelH });
    let label = p.label;
    if (p.scored) {
      const s = scoreAgainst(target, p.data);
      label += `  ${s.psnr.toFixed(2)} dB / ${s.ssim.toFixed(3)}`;
    }
    const svg =
      `<svg width="${side}" height="${labelH}"><text x="4" y="20" font-family="DejaVu Sans, sans-serif" ` +
      `font-size="15" fill="#ffffff">${escapeXml(label)}</text></svg>`;
    tiles.push({ input: Buffer.from(svg), left, top: 0 });
  }
  const width = panels.length * side + (panels.length - 1) * gap;
  return sharp({ create: { width, height: side + labelH, channels: 3, background: { r: 24, g: 24, b: 24 } } })
    .composite(tiles)
    .png()
    .toBuffer();
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}
