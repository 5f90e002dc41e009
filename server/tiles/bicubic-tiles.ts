// The bicubic comparison layer: the same LR region as an SR tile, upsampled by the
// evaluation's bicubic (models/eval/resample.ts: Catmull-Rom, centre-aligned, edges replicated) and cropped,
// so it lines up with the model's output pixel for pixel. Not sharp.resize: it samples half an output
// pixel off centre, which shows as a shift against the SR layer in the split view.
import { CATMULL_ROM, upsample } from '../../models/eval/resample';
import { normalise } from '../../models/io/normalisation';
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
  const cx = rect.x / s, cy = rect.y / s, cw = rect.w / s, ch = rect.h / s;
  const wx = Math.max(0, cx - HALO), wy = Math.max(0, cy - HALO);
  const ww = Math.min(img.width, cx + cw + HALO) - wx;
  const wh = Math.min(img.height, cy + ch + HALO) - wy;
  const v = normalise(await img.source.readRegion(wx, wy, ww, wh), img.percentiles.low, img.percentiles.high);
  const up = upsample(v, ww, wh, s, CATMULL_ROM, 'float32');
  const W = ww * s;
  const data = new Float32Array(rect.w * rect.h);
  const left = (cx - wx) * s, top = (cy - wy) * s;
  for (let r = 0; r < rect.h; r++) data.set(up.subarray((top + r) * W + left, (top + r) * W + left + rect.w), r * rect.w);
  return { width: rect.w, height: rect.h, data };
}
