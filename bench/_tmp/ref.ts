// naive NCHW reference for checking
import { levelCount, type ModelConfig } from '../../models/config';
import { dpfBankHWIO } from '../../models/dpf/dpf';
import type { Weights } from '../../models/params';
type T = { c: number; h: number; w: number; d: Float64Array }; // single image
function conv(x: T, k: { shape: number[]; data: Float32Array }, b: Float32Array | null): T {
  const [kh, kw, ci, co] = k.shape as [number, number, number, number];
  const r = (kh - 1) / 2;
  const o: T = { c: co, h: x.h, w: x.w, d: new Float64Array(co * x.h * x.w) };
  for (let oc = 0; oc < co; oc++) for (let y = 0; y < x.h; y++) for (let xx = 0; xx < x.w; xx++) {
    let s = b ? b[oc]! : 0;
    for (let dy = 0; dy < kh; dy++) for (let dx = 0; dx < kw; dx++) {
      const yy = y + dy - r, xq = xx + dx - r;
      if (yy < 0 || yy >= x.h || xq < 0 || xq >= x.w) continue;
      for (let ic = 0; ic < ci; ic++) s += x.d[(ic * x.h + yy) * x.w + xq]! * k.data[((dy * kw + dx) * ci + ic) * co + oc]!;
    }
    o.d[(oc * x.h + y) * x.w + xx] = s;
  }
  return o;
}
function lnlrelu(x: T, g: Float32Array, b: Float32Array, eps: number, a: number): T {
  const o = { ...x, d: new Float64Array(x.d.length) };
  const hw = x.h * x.w;
  for (let p = 0; p < hw; p++) {
    let mu = 0; for (let c = 0; c < x.c; c++) mu += x.d[c * hw + p]!; mu /= x.c;
    let v = 0; for (let c = 0; c < x.c; c++) v += (x.d[c * hw + p]! - mu) ** 2; v /= x.c;
    for (let c = 0; c < x.c; c++) { const z = ((x.d[c * hw + p]! - mu) / Math.sqrt(v + eps)) * g[c]! + b[c]!; o.d[c * hw + p] = z >= 0 ? z : a * z; }
  }
  return o;
}
function up(x: T, s: number, half: boolean): T {
  const H = x.h * s, W = x.w * s;
  const o: T = { c: x.c, h: H, w: W, d: new Float64Array(x.c * H * W) };
  const src = (i: number, n: number) => { let f = half ? (i + 0.5) / s - 0.5 : i / s; f = Math.min(Math.max(f, 0), n - 1); const i0 = Math.floor(f); const i1 = Math.min(i0 + 1, n - 1); return [i0, i1, f - i0] as const; };
  for (let c = 0; c < x.c; c++) for (let y = 0; y < H; y++) { const [y0, y1, fy] = src(y, x.h); for (let xx = 0; xx < W; xx++) { const [x0, x1, fx] = src(xx, x.w);
    const g = (yy: number, xq: number) => x.d[(c * x.h + yy) * x.w + xq]!;
    o.d[(c * H + y) * W + xx] = (1 - fy) * ((1 - fx) * g(y0, x0) + fx * g(y0, x1)) + fy * ((1 - fx) * g(y1, x0) + fx * g(y1, x1)); } }
  return o;
}
export function refForward(cfg: ModelConfig, wts: Weights, img: Float32Array, h: number, w: number): Float64Array[] {
  const P = (n: string) => wts.get(n)!;
  const x: T = { c: 1, h, w, d: Float64Array.from(img) };
  let e = x;
  if (cfg.dpf) { const r = conv(x, dpfBankHWIO(1), null); const d = new Float64Array(13 * h * w); d.set(x.d); d.set(r.d, h * w); e = { c: 13, h, w, d }; }
  const outs: Float64Array[] = [];
  let t = e;
  for (let k = 0; k <= levelCount(cfg); k++) {
    if (k > 0) t = up(t, 2, false);
    for (let j = 0; j < cfg.convsPerModule; j++) { const n = `g.l${k}.c${j}`; t = lnlrelu(conv(t, P(`${n}.w`), P(`${n}.b`).data), P(`${n}.ln.g`).data, P(`${n}.ln.b`).data, cfg.lnEpsilon, cfg.leakySlope); }
    if (k > 0) { const y = conv(t, P(`g.l${k}.proj.w`), P(`g.l${k}.proj.b`).data); if (cfg.skip === 'bilinear') { const u = up(x, 2 ** k, true); for (let i = 0; i < y.d.length; i++) y.d[i]! += u.d[i]!; } outs.push(y.d); }
  }
  return outs;
}
