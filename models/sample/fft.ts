// Radix-2 complex FFT (in place, split re/im arrays) and its 2D use on a tile.
// Why our own: the sample's optics needs one convolution per tile of the field; a 60-line FFT keeps
// the package free of a numeric dependency, and tiles are powers of two by construction (optics.ts).

/** In-place iterative radix-2 FFT of length n (a power of two); inverse without the 1/n factor. */
export function fft1d(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if ((n & (n - 1)) !== 0 || n === 0) throw new RangeError(`FFT length must be a power of two, got ${n}`);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const tr = re[i]!;
      re[i] = re[j]!;
      re[j] = tr;
      const ti = im[i]!;
      im[i] = im[j]!;
      im[j] = ti;
    }
  }
  const sign = inverse ? 1 : -1;
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (sign * 2 * Math.PI) / len;
    const wr = Math.cos(ang),
      wi = Math.sin(ang);
    const half = len >> 1;
    for (let i = 0; i < n; i += len) {
      let cr = 1,
        ci = 0;
      for (let k = 0; k < half; k++) {
        const a = i + k,
          b = a + half;
        const xr = re[b]! * cr - im[b]! * ci;
        const xi = re[b]! * ci + im[b]! * cr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
        const t = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = t;
      }
    }
  }
}

/** In-place 2D FFT of a row-major nx*ny complex array (rows, then columns via a scratch line). */
export function fft2d(re: Float64Array, im: Float64Array, nx: number, ny: number, inverse = false): void {
  const lr = new Float64Array(nx),
    li = new Float64Array(nx);
  for (let y = 0; y < ny; y++) {
    const o = y * nx;
    lr.set(re.subarray(o, o + nx));
    li.set(im.subarray(o, o + nx));
    fft1d(lr, li, inverse);
    re.set(lr, o);
    im.set(li, o);
  }
  const cr = new Float64Array(ny),
    ci = new Float64Array(ny);
  for (let x = 0; x < nx; x++) {
    for (let y = 0; y < ny; y++) {
      cr[y] = re[y * nx + x]!;
      ci[y] = im[y * nx + x]!;
    }
    fft1d(cr, ci, inverse);
    for (let y = 0; y < ny; y++) {
      re[y * nx + x] = cr[y]!;
      im[y * nx + x] = ci[y]!;
    }
  }
}
