// The bicubic comparison layer: the same LR region as an SR tile, upsampled by the
// evaluation's bicubic (models/eval/resample.ts: Catmull-Rom, centre-aligned, edges replicated) and cropped,
// so it lines up with the model's output pixel for pixel. Not sharp.resize: it samples half an output
// pixel off centre, which shows as a shift against the SR layer in the split view.
import { CATMULL_ROM, upsample } from '../../models/eval/resample';
import { normalise } from '../../models/io/normalisation';
import { clippedWindow, cropRect } from '../../models/tiling';
import type { ServedImage } from '../images/served-image';
import { tileRect } from '../protocol';
import type { FloatTile } from './float-tile';

/**
 * What bicubic tiles are cached under instead of a model hash: they do not depend on the model, and disk
 * caches written by the old off-centre resize must not be served.
 */
export const BICUBIC_KEY = 'bicubic-centred';

/** LR pixels around the tile's core: the kernel's reach, so every output pixel sees all its taps. */
const HALO = CATMULL_ROM.radius;

/**
 * A tile equals the same crop of the whole image's bicubic upsample: inside, the window holds every tap;
 * where the window is cut by the image, both replicate the same edge.
 */
export async function bicubicTile(img: ServedImage, level: number, x: number, y: number): Promise<FloatTile> {
  const p = img.pyramid;
  const rect = tileRect(p, level, x, y);
  if (!rect || level <= p.nativeLevel) throw new RangeError(`no bicubic tile ${level}/${x}/${y}`);
  const s = 2 ** (level - p.nativeLevel);
  // LR core of the tile (exact: tile edges are multiples of s above native), then the window around it.
  const core = { x: rect.x / s, y: rect.y / s, w: rect.w / s, h: rect.h / s };
  const win = clippedWindow(core, HALO, img.width, img.height);
  const v = normalise(await img.source.readRegion(win.x, win.y, win.w, win.h), img.percentiles.low, img.percentiles.high);
  const up = upsample(v, win.w, win.h, s, CATMULL_ROM, 'float32');
  const data = cropRect(up, win.w * s, { x: (core.x - win.x) * s, y: (core.y - win.y) * s, w: rect.w, h: rect.h });
  return { width: rect.w, height: rect.h, data };
}
