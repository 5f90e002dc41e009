// A region of an image super-resolved as the whole image would be: the region is read with `halo` LR pixels
// of real context on every side (fewer only at the image's own edges), and the output is cropped back to
// the region, so every output pixel sees what it sees in the whole-image run (tiled equals whole).
import type { OutputBand, RegionReader } from './super-resolve';
import { clippedWindow, cropRect } from '../tiling';

/** A rectangle of native pixels. */
export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface RegionWindow {
  /** The region plus its context, as an image of its own. */
  reader: RegionReader;
  /** Output bands of `reader` -> rows of the region's output (empty when a band lies in the context only). */
  crop(band: OutputBand, scale: number): { y: number; height: number; width: number; data: Float32Array };
}

/**
 * @throws RangeError when the region is empty or not inside the image
 * @example const w = regionWindow(src, { x: 100, y: 50, width: 64, height: 64 }, haloFor(config));
 */
export function regionWindow(src: RegionReader, r: Region, halo: number): RegionWindow {
  const ok =
    [r.x, r.y, r.width, r.height].every(Number.isInteger) &&
    r.x >= 0 &&
    r.y >= 0 &&
    r.width > 0 &&
    r.height > 0 &&
    r.x + r.width <= src.width &&
    r.y + r.height <= src.height;
  if (!ok) throw new RangeError(`region ${r.width}x${r.height}+${r.x}+${r.y} is not inside the ${src.width}x${src.height} image`);
  const win = clippedWindow({ x: r.x, y: r.y, w: r.width, h: r.height }, halo, src.width, src.height);
  const x0 = win.x,
    y0 = win.y;
  const reader: RegionReader = {
    width: win.w,
    height: win.h,
    readRegion: (x, y, w, h) => src.readRegion(x0 + x, y0 + y, w, h),
  };
  return {
    reader,
    crop(band, s) {
      const outW = r.width * s;
      const first = Math.max(band.y, (r.y - y0) * s),
        last = Math.min(band.y + band.height, (r.y - y0 + r.height) * s);
      const rows = Math.max(0, last - first);
      const data = cropRect(band.data, band.width, { x: (r.x - x0) * s, y: first - band.y, w: outW, h: rows });
      return { y: first - (r.y - y0) * s, height: rows, width: outW, data };
    },
  };
}
