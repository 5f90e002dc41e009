// Phase contrast imaging of a phase map: the Zernike ring passes the low spatial frequencies of the
// field (the "surround" light) with a quarter-wave shift and attenuation zeta, the rest (the light the
// cells diffract) unchanged. The ring's finite size is what causes the halo and the shade-off.
import { airy } from '../dpf/dpf';
import { fft2d } from './fft';

export interface OpticsParams {
  /** Frequency radius (cycles/px) of the part of the spectrum that passes through the phase ring. */
  ringRadius: number;
  /** Spatial radius (px) the ring's kernel is truncated to (Hann-tapered). */
  kernelRadius: number;
  /** Amplitude transmission of the ring: it sets how bright thick (rounded) cells glow, ~1/zeta^2. */
  zeta: number;
  /** Phase shift of the ring: -pi/2 gives positive (dark-cell) phase contrast. */
  ringPhase: number;
  /** Gaussian sigma (px) of the objective's amplitude PSF (10x Ph1, NA 0.25-0.3: ~1 um). */
  blurSigma: number;
}

export const DEFAULT_OPTICS: OpticsParams = {
  ringRadius: 0.07,
  kernelRadius: 12,
  zeta: 0.45,
  ringPhase: -Math.PI / 2,
  blurSigma: 0.7,
};

/**
 * The ring's low-pass kernel L on a (2r+1)^2 grid, unit sum. It is the DPF's `airy` with W = R, i.e.
 * the Fourier transform of the filled disc |k| < R (a jinc): the annulus of dpf.ts has zero DC, so
 * after truncation its sum is ill-defined; the filled disc keeps the same Bessel ringing (the faint
 * second rings around round cells) with a stable normalisation. Each tap is a 4x4 sub-pixel average
 * so that the Bessel oscillations are not aliased by the pixel grid; the Hann taper bounds ringing.
 */
export function ringLowpass(p: OpticsParams): Float64Array {
  const r = p.kernelRadius,
    n = 2 * r + 1,
    S = 4;
  const k = new Float64Array(n * n);
  let sum = 0;
  for (let y = -r; y <= r; y++)
    for (let x = -r; x <= r; x++) {
      let a = 0;
      for (let sy = 0; sy < S; sy++)
        for (let sx = 0; sx < S; sx++) {
          const rho = Math.hypot(x + (sx + 0.5) / S - 0.5, y + (sy + 0.5) / S - 0.5);
          a += airy(rho, p.ringRadius, p.ringRadius);
        }
      const rho = Math.hypot(x, y);
      const w = rho >= r + 1 ? 0 : Math.cos((Math.PI * rho) / (2 * (r + 1))) ** 2;
      const v = (a / (S * S)) * w;
      k[(y + r) * n + (x + r)] = v;
      sum += v;
    }
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  return k;
}

/** How far (px) the imaging reaches: the ring kernel plus the objective blur's tail. */
export function opticsMargin(p: OpticsParams): number {
  return p.kernelRadius + Math.ceil(4 * p.blurSigma);
}

/**
 * Transfer function of one tile (nx*ny, powers of two) of the complex kernel
 * h = G (delta - c L), c = 1 - zeta e^{i ringPhase}, G the objective's Gaussian amplitude PSF
 * truncated to opticsMargin - kernelRadius px. Built in space (not as a Gaussian in frequency, whose
 * cut at Nyquist would ring far) so that h has exactly the margin's support and tiles are seamless.
 */
function tileTransfer(p: OpticsParams, nx: number, ny: number): { hr: Float64Array; hi: Float64Array } {
  const r = p.kernelRadius,
    n = 2 * r + 1;
  const g = opticsMargin(p) - r;
  const G: number[] = [];
  let gs = 0;
  for (let y = -g; y <= g; y++)
    for (let x = -g; x <= g; x++) {
      const v = p.blurSigma > 0 ? Math.exp(-(x * x + y * y) / (2 * p.blurSigma * p.blurSigma)) : x === 0 && y === 0 ? 1 : 0;
      G.push(v);
      gs += v;
    }
  const L = ringLowpass(p);
  const cr = 1 - p.zeta * Math.cos(p.ringPhase),
    ci = -p.zeta * Math.sin(p.ringPhase);
  const hr = new Float64Array(nx * ny),
    hi = new Float64Array(nx * ny);
  const gw = 2 * g + 1;
  for (let gy = -g; gy <= g; gy++)
    for (let gx = -g; gx <= g; gx++) {
      const gv = G[(gy + g) * gw + (gx + g)]! / gs;
      if (gv === 0) continue;
      // G * delta
      hr[((gy + ny) % ny) * nx + ((gx + nx) % nx)]! += gv;
      // G * (-c L)
      for (let y = -r; y <= r; y++)
        for (let x = -r; x <= r; x++) {
          const l = gv * L[(y + r) * n + (x + r)]!;
          const i = ((y + gy + ny) % ny) * nx + ((x + gx + nx) % nx);
          hr[i]! -= cr * l;
          hi[i]! -= ci * l;
        }
    }
  fft2d(hr, hi, nx, ny);
  return { hr, hi };
}

function nextPow2(v: number): number {
  let p = 1;
  while (p < v) p <<= 1;
  return p;
}

/**
 * Intensity image (1 = background) of a phase map, by overlap-save FFT tiles so that memory stays
 * at a few tiles whatever the image size. `phase` is (width + 2m) x (height + 2m) with m =
 * opticsMargin(p): the optics look m pixels past each border, so cells cut by the border still get
 * their halo. Output: width*height, row-major. `maxTile` (a power of two) only trades speed for memory.
 */
export function imagePhase(
  phase: Float32Array,
  width: number,
  height: number,
  p: OpticsParams = DEFAULT_OPTICS,
  maxTile = 512,
): Float32Array {
  const m = opticsMargin(p);
  const pw = width + 2 * m,
    ph = height + 2 * m;
  if (phase.length !== pw * ph) throw new RangeError(`phase map must be ${pw}x${ph}, got ${phase.length} values`);
  // 512 tiles keep the FFT cache-friendly; small images get one tile just big enough.
  const nx = Math.min(maxTile, nextPow2(width + 2 * m)),
    ny = Math.min(maxTile, nextPow2(height + 2 * m));
  if (nx <= 2 * m || ny <= 2 * m) throw new RangeError(`tile ${maxTile} is too small for the optics margin ${m}`);
  const vx = nx - 2 * m,
    vy = ny - 2 * m;
  const { hr, hi } = tileTransfer(p, nx, ny);
  const re = new Float64Array(nx * ny),
    im = new Float64Array(nx * ny);
  const out = new Float32Array(width * height);
  const z2 = p.zeta * p.zeta;
  for (let oy = 0; oy < height; oy += vy)
    for (let ox = 0; ox < width; ox += vx) {
      // Tile covers image pixels [ox - m, ox - m + nx): phase-map pixels [ox, ox + nx). Outside the
      // map the field is the bare background, u = 1.
      for (let y = 0; y < ny; y++) {
        const py = oy + y;
        for (let x = 0; x < nx; x++) {
          const px = ox + x,
            i = y * nx + x;
          if (py < ph && px < pw) {
            const f = phase[py * pw + px]!;
            re[i] = Math.cos(f);
            im[i] = Math.sin(f);
          } else {
            re[i] = 1;
            im[i] = 0;
          }
        }
      }
      fft2d(re, im, nx, ny);
      for (let i = 0; i < nx * ny; i++) {
        const a = re[i]!,
          b = im[i]!,
          c = hr[i]!,
          d = hi[i]!;
        re[i] = a * c - b * d;
        im[i] = a * d + b * c;
      }
      fft2d(re, im, nx, ny, true);
      const norm = 1 / (nx * ny);
      const w = Math.min(vx, width - ox),
        h = Math.min(vy, height - oy);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const i = (y + m) * nx + (x + m);
          const a = re[i]! * norm,
            b = im[i]! * norm;
          out[(oy + y) * width + ox + x] = (a * a + b * b) / z2;
        }
    }
  return out;
}
