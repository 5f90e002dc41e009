// Seeded smooth random fields (lattice value noise and its fractal sum), for cell outlines, cytoplasm
// texture and uneven illumination: cheap, deterministic per seed, evaluable at any single point.

/** 32-bit integer hash of a lattice point and a seed, mapped to [0, 1). */
function hash01(ix: number, iy: number, seed: number): number {
  let h = Math.imul(ix | 0, 0x27d4eb2d) ^ Math.imul(iy | 0, 0x165667b1) ^ Math.imul(seed | 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

/** Value noise in [-1, 1] with unit lattice spacing, smoothstep-interpolated (C1 continuous). */
export function valueNoise(x: number, y: number, seed: number): number {
  const ix = Math.floor(x),
    iy = Math.floor(y);
  const fx = x - ix,
    fy = y - iy;
  const sx = fx * fx * (3 - 2 * fx),
    sy = fy * fy * (3 - 2 * fy);
  const a = hash01(ix, iy, seed),
    b = hash01(ix + 1, iy, seed);
  const c = hash01(ix, iy + 1, seed),
    d = hash01(ix + 1, iy + 1, seed);
  const top = a + (b - a) * sx,
    bot = c + (d - c) * sx;
  return 2 * (top + (bot - top) * sy) - 1;
}

/** Fractal sum of `octaves` value noises, base period `scale` px, each octave half the amplitude. */
export function fbm(x: number, y: number, scale: number, octaves: number, seed: number): number {
  let s = 0,
    amp = 1,
    norm = 0,
    f = 1 / scale;
  for (let o = 0; o < octaves; o++) {
    s += amp * valueNoise(x * f, y * f, seed + o * 1013);
    norm += amp;
    amp *= 0.5;
    f *= 2;
  }
  return s / norm;
}
