// The bicubic comparison layer: the same LR region as an SR tile, with the same halo, resized by sharp's
// cubic (Catmull-Rom) kernel and cropped. Why 16-bit fixed point: this sharp build returns zeros for raw
// float output, so normalised values go through uint16 as (v + 1) * 16384 (range -1..3, step 6e-5, far
// below a display level; values beyond are clipped - it is a visual reference, not a measurement).
import sharp from 'sharp';

import { normalise } from '../../models/io/normalisation';
import type { ServedImage } from '../images/served-image';
import { tileRect } from '../protocol';
import type { FloatTile } from './float-tile';

const FIXED = 16384;

export async function bicubicTile(img: ServedImage, level: number, x: number, y: number, halo: number): Promise<FloatTile> {
  const p = img.pyramid;
  const rect = tileRect(p, level, x, y);
  if (!rect || level <= p.nativeLevel) throw new RangeError(`no bicubic tile ${level}/${x}/${y}`);
  const s = 2 ** (level - p.nativeLevel);
  // LR core of the tile (exact: tile edges are multiples of s above native), then the window around it.
  const cx = rect.x / s, cy = rect.y / s, cw = rect.w / s, ch = rect.h / s;
  const wx = Math.max(0, cx - halo), wy = Math.max(0, cy - halo);
  const ww = Math.min(img.width, cx + cw + halo) - wx;
  const wh = Math.min(img.height, cy + ch + halo) - wy;
  const v = normalise(await img.source.readRegion(wx, wy, ww, wh), img.percentiles.low, img.percentiles.high);
  const fixed = new Uint16Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const u = Math.round((v[i]! + 1) * FIXED);
    fixed[i] = u > 0 ? (u < 65535 ? u : 65535) : 0;
  }
  const out = await sharp(fixed, { raw: { width: ww, height: wh, channels: 1 } })
    .resize(ww * s, wh * s, { kernel: 'cubic', fit: 'fill' })
    .extract({ left: (cx - wx) * s, top: (cy - wy) * s, width: rect.w, height: rect.h })
    .toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer();
  const u16 = new Uint16Array(out.buffer, out.byteOffset, rect.w * rect.h);
  const data = new Float32Array(u16.length);
  for (let i = 0; i < u16.length; i++) data[i] = u16[i]! / FIXED - 1;
  return { width: rect.w, height: rect.h, data };
}
