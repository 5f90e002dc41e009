// Statistics the benchmark reports share: the linear-interpolated quantile of a list of samples.

/** The q-quantile (0..1) of `xs` with linear interpolation between ranks; NaN for no samples. */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const i = (s.length - 1) * q;
  const lo = Math.floor(i),
    hi = Math.ceil(i);
  return s[lo]! + (s[hi]! - s[lo]!) * (i - lo);
}
