// Static int8 quantisation of an exported graph, in ONNX's QDQ form: every Conv gets QuantizeLinear ->
// DequantizeLinear on its input and output (uint8, scales fixed by calibration), and its weights and bias
// become int8 (symmetric, one scale per output channel) and int32 constants behind DequantizeLinear. ONNX
// Runtime's CPU engine fuses each DQ -> Conv -> Q group into one QLinearConv (u8 x s8, VNNI on AVX-512).
// The scales are constants of the graph, never computed per call, so every tile of an image sees the same
// arithmetic and tiled output stays equal to whole-image output.
import type { GraphBuilder } from './onnx-graph';

/** An activation range [min, max] seen on the calibration images. */
export type Range = [number, number];

/** Calibrated ranges per convolution, keyed by the convolution's weight parameter (e.g. `g.l1.c0.w`). */
export type ConvRanges = Record<string, { input: Range; output: Range }>;

/** uint8 affine quantisation of a range (which must hold 0, so zero padding stays exact). */
export function uint8Params([lo, hi]: Range): { scale: number; zeroPoint: number } {
  const a = Math.min(lo, 0);
  const b = Math.max(hi, 0);
  const scale = b > a ? (b - a) / 255 : 1;
  return { scale, zeroPoint: Math.min(255, Math.max(0, Math.round(-a / scale))) };
}

/** Symmetric int8 per output channel of an OIHW kernel: q = round(w / scale[o]), |q| <= 127. */
export function int8PerChannel(w: Float32Array, outChannels: number): { q: Int8Array; scales: Float32Array } {
  const per = w.length / outChannels;
  const q = new Int8Array(w.length);
  const scales = new Float32Array(outChannels);
  for (let o = 0; o < outChannels; o++) {
    let m = 0;
    for (let i = o * per; i < (o + 1) * per; i++) m = Math.max(m, Math.abs(w[i]!));
    const s = m > 0 ? m / 127 : 1;
    scales[o] = s;
    for (let i = o * per; i < (o + 1) * per; i++) q[i] = Math.max(-127, Math.min(127, Math.round(w[i]! / s)));
  }
  return { q, scales };
}

/**
 * Rewrites every Conv whose weight has calibrated ranges and that `keepFloat` does not name into QDQ form.
 * Convs without ranges (or kept) stay float32 as exported.
 */
export function quantizeConvs(g: GraphBuilder, ranges: ConvRanges, keepFloat: (weight: string) => boolean = () => false): number {
  let quantised = 0;
  const scalar = (name: string, v: number): string => g.init(name, [], new Float32Array([v]));
  g.rewrite((n, after) => {
    const wName = n.input?.[1];
    const r = wName ? ranges[wName] : undefined;
    if (n.opType !== 'Conv' || !wName || !r || keepFloat(wName)) return 'keep';
    const w = g.float(wName);
    if (!w) return 'keep';
    const tag = `${wName}.q`;
    // Input activation.
    const xp = uint8Params(r.input);
    const xs = scalar(`${tag}.x_scale`, xp.scale);
    const xz = g.initInt(`${tag}.x_zero`, [], new Uint8Array([xp.zeroPoint]));
    const xq = g.node('QuantizeLinear', [n.input![0]!, xs, xz], {}, `${tag}.x_q`);
    n.input![0] = g.node('DequantizeLinear', [xq, xs, xz], {}, `${tag}.x_dq`);
    // Weights: int8, one scale per output channel.
    const co = w.dims[0]!;
    const { q, scales } = int8PerChannel(w.data, co);
    const wq = g.initInt(`${tag}.w_int8`, w.dims, q);
    const ws = g.init(`${tag}.w_scale`, [co], scales);
    const wz = g.initInt(`${tag}.w_zero`, [co], new Int8Array(co));
    n.input![1] = g.node('DequantizeLinear', [wq, ws, wz], { axis: { i: 0 } }, `${tag}.w_dq`);
    // Bias: int32 at the accumulator's scale (input scale x weight scale), as QLinearConv takes it.
    const bName = n.input![2];
    const b = bName ? g.float(bName) : undefined;
    if (b) {
      const bs = scales.map((s) => s * xp.scale);
      const bq = Int32Array.from(b.data, (v, o) => Math.round(v / bs[o]!));
      const bsName = g.init(`${tag}.b_scale`, [co], bs);
      n.input![2] = g.node('DequantizeLinear', [g.initInt(`${tag}.b_int32`, [co], bq), bsName], { axis: { i: 0 } }, `${tag}.b_dq`);
    }
    // Output activation: the Conv writes a fresh tensor, Q -> DQ restores the old name for its consumers.
    const out = n.output![0]!;
    n.output![0] = `${tag}.y`;
    const yp = uint8Params(r.output);
    const ys = scalar(`${tag}.y_scale`, yp.scale);
    const yz = g.initInt(`${tag}.y_zero`, [], new Uint8Array([yp.zeroPoint]));
    after(() => {
      const yq = g.node('QuantizeLinear', [`${tag}.y`, ys, yz], {}, `${tag}.y_q`);
      g.node('DequantizeLinear', [yq, ys, yz], {}, out);
    });
    quantised++;
    return 'keep';
  });
  return quantised;
}
