// Bessel function of the first kind, order 1, for the DPF's Airy pattern.
//
// J1(x) = (1/pi) * integral_0^pi cos(t - x sin t) dt (Bessel's integral). The integrand is smooth and
// periodic, so the trapezoid rule converges exponentially: with N nodes it is exact for every Fourier
// mode below N, and the integrand's modes decay like J_n(x) for n > |x|. N = |x| + 64 (rounded up to a
// multiple of 16) keeps the error below 1e-14 for the |x| < 1e3 that DPF kernels need (|x| <= ~150 at
// radius 4, far more at bigger radii), well inside the required 1e-7. test/models/dpf.test.ts checks
// it against tabulated values. Why not a library: the npm 'bessel' package uses rational
// approximations documented only to ~1e-8 relative and is unmaintained since 2019.

/** J1(x), accurate to ~1e-14 absolute for |x| < 1000. */
export function besselJ1(x: number): number {
  if (x === 0) return 0;
  const n = Math.ceil((Math.abs(x) + 64) / 16) * 16;
  const h = Math.PI / n;
  // Trapezoid on [0, pi]: the end points get half weight; cos(0 - 0) = 1 and cos(pi - 0) = -1.
  let s = 0.5 * (Math.cos(0) + Math.cos(Math.PI - x * Math.sin(Math.PI)));
  for (let i = 1; i < n; i++) {
    const t = i * h;
    s += Math.cos(t - x * Math.sin(t));
  }
  return (s * h) / Math.PI;
}

/** somb(u) = 2 J1(pi u) / (pi u), somb(0) = 1: the Fourier transform of a disc (the "sombrero"). */
export function somb(u: number): number {
  if (u === 0) return 1;
  const a = Math.PI * u;
  return (2 * besselJ1(a)) / a;
}
