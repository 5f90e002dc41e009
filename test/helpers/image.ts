// Small in-memory images for tests: smooth structure plus texture, so every layer has work to do.
import { downsample } from '../../models/degradation/resample';
import type { RegionReader } from '../../models/pipeline/super-resolve';

/** A deterministic float image with blobs and fine texture in 0..1000. */
export function synthImage(width: number, height: number, seed = 1): Float32Array {
  const a = new Float32Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const v =
        Math.sin(x * 0.37 + seed) * Math.cos(y * 0.23 - seed) +
        0.5 * Math.sin((x + 2 * y) * 1.3 * seed) +
        ((x * 7 + y * 13 + seed) % 5) * 0.1;
      a[y * width + x] = 500 + 300 * v;
    }
  return a;
}

/** A RegionReader over an in-memory image. */
export function memoryReader(data: Float32Array, width: number, height: number): RegionReader {
  return {
    width,
    height,
    async readRegion(x, y, w, h) {
      if (x < 0 || y < 0 || x + w > width || y + h > height) throw new RangeError('region outside the image');
      const out = new Float32Array(w * h);
      for (let r = 0; r < h; r++) out.set(data.subarray((y + r) * width + x, (y + r) * width + x + w), r * w);
      return out;
    },
  };
}

/** The 8x box-mean LR of square HR crops packed [n, size, size] (the training pairs without degradation). */
export function boxLr(hr: Float32Array, size: number, f = 8): Float32Array {
  const n = hr.length / (size * size);
  const lpx = (size / f) ** 2;
  const out = new Float32Array(n * lpx);
  for (let b = 0; b < n; b++) out.set(downsample(hr.subarray(b * size * size, (b + 1) * size * size), size, size, f, 'box'), b * lpx);
  return out;
}
