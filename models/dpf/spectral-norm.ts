// Spectral norm (largest singular value) of a small square matrix, as MATLAB's norm(A) computes it.
// The DPF authors divide each kernel by it. Cyclic Jacobi on A^T A: exact to rounding for the 3x3..17x17
// matrices used here, with no convergence caveat (unlike power iteration when the top two are close).

/** Largest singular value of the n x n row-major matrix `a`. */
export function spectralNorm(a: ArrayLike<number>, n: number): number {
  // m = A^T A (symmetric positive semi-definite): its largest eigenvalue is sigma_max^2.
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[k * n + i]! * a[k * n + j]!;
      m[i * n + j] = s;
    }
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (m[q * n + q]! - m[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // Rotate rows and columns p, q.
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p]!;
          const mkq = m[k * n + q]!;
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k]!;
          const mqk = m[q * n + k]!;
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
      }
  }
  let max = 0;
  for (let i = 0; i < n; i++) max = Math.max(max, m[i * n + i]!);
  return Math.sqrt(max);
}
