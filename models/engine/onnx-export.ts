// Exports the generator (models/README.md, "The generator, exactly") as an ONNX model, opset 17, NCHW,
// with dynamic batch and spatial size: input "lr" [N,1,H,W], outputs "y2", "y4", "y8" [N,1,H*s,W*s]
// (with `roi`: the region's size times s).
import { levelCount, type ModelConfig } from '../config';
import { dpfBankHWIO } from '../dpf/dpf';
import type { NamedTensor, Weights } from '../params';
import { quantizeConvs, type ConvRanges } from './int8-quantize';
import { GraphBuilder, type GraphValue } from './onnx-graph';
import { applyWebgpuWorkarounds } from './webgpu-workarounds';

export const ONNX_OPSET = 17;

export interface ExportOptions {
  /**
   * How the per-pixel channel layer norm is expressed. 'layernorm' (default, measured faster): Transpose to
   * NHWC, LayerNormalization over the last axis; the LeakyReLU and the next x2 resize stay channels-last,
   * and the Transpose back to NCHW comes just before the next convolution (ORT folds both transposes into
   * its NCHWc reorders). 'reducemean': ReduceMean/Sub/Mul/Sqrt over axis 1, all NCHW (for benchmarks).
   */
  layerNorm?: 'layernorm' | 'reducemean';
  /**
   * Formulate the graph for ORT's WebGPU engine: an equivalent graph around two of its kernel bugs
   * (webgpu-workarounds.ts). Off for the CPU engine, whose graph stays exactly as built here.
   */
  webgpu?: boolean;
  /**
   * Static int8 (int8-quantize.ts): the Convs with calibrated ranges become QDQ int8, except those
   * `keepFloat` names. Absent: float32 throughout.
   */
  int8?: { ranges: ConvRanges; keepFloat?: (weight: string) => boolean };
  /**
   * Calibration taps: the minimum and maximum of every Conv's input and output also become graph outputs,
   * named `<weight>:in:min`, `<weight>:in:max`, `<weight>:out:min`, ... (int8-calibration.ts).
   */
  taps?: boolean;
  /**
   * Two more inputs, "roi_starts" and "roi_ends" (int64 [2]: LR row and column, end exclusive): the x2
   * cascade and the skip run only on that region of the window, and every output covers that region. The
   * input module and the LR body still see the whole window, so inside the region, away from its cut
   * edges by cascadeHalo (models/tiling.ts), the pixels equal the whole window's. Serving feeds the tile's
   * core plus that margin; the cascade holds most of the FLOPs, so a halo costs far less.
   */
  roi?: boolean;
}

/** The graph output carrying a Conv's input (`in`) or output (`out`) when exported with `taps`. */
export const tapName = (weight: string, side: 'in' | 'out'): string => `${weight}:${side}`;

/** HWIO [kh,kw,i,o] -> OIHW [o,i,kh,kw] (tfjs kernel layout to ONNX Conv's). */
export function hwioToOihw(t: { shape: number[]; data: Float32Array }): { dims: number[]; data: Float32Array } {
  const [kh, kw, ci, co] = t.shape as [number, number, number, number];
  const out = new Float32Array(t.data.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) out[((o * ci + i) * kh + y) * kw + x] = t.data[((y * kw + x) * ci + i) * co + o]!;
  return { dims: [co, ci, kh, kw], data: out };
}

export function exportOnnx(config: ModelConfig, weights: Weights, opts: ExportOptions = {}): Uint8Array {
  const lnImpl = opts.layerNorm ?? 'layernorm';
  const g = new GraphBuilder();
  const param = (name: string): NamedTensor => {
    const t = weights.get(name);
    if (!t) throw new Error(`weights lack parameter ${name} (config ${config.name})`);
    return t;
  };
  const kernel = (name: string, t: { shape: number[]; data: Float32Array }): string => {
    const { dims, data } = hwioToOihw(t);
    return g.init(name, dims, data);
  };
  const vector = (name: string, shape: number[]): string => g.init(name, shape, param(name).data);

  /** Conv with bias, 'same' zero padding, of the kernel size the parameter holds (3x3 or 1x1). */
  const conv = (x: string, name: string): string => {
    const k = param(`${name}.w`).shape[0]!;
    const r = (k - 1) / 2;
    return g.node('Conv', [x, kernel(`${name}.w`, param(`${name}.w`)), vector(`${name}.b`, param(`${name}.b`).shape)], {
      kernel_shape: { ints: [k, k] },
      pads: { ints: [r, r, r, r] },
    });
  };
  const leaky = (x: string): string => g.node('LeakyRelu', [x], { alpha: { f: config.leakySlope } });

  type Layout = 'NCHW' | 'NHWC';
  /** A feature map and its memory layout: the layer norm works channels-last, convolutions channels-first. */
  type Feature = { name: string; layout: Layout };
  const nchw = (f: Feature): string => (f.layout === 'NCHW' ? f.name : g.node('Transpose', [f.name], { perm: { ints: [0, 3, 1, 2] } }));

  const channelNorm = (x: string, name: string): Feature => {
    const eps = config.lnEpsilon;
    const c = param(`${name}.ln.g`).data.length;
    if (lnImpl === 'layernorm') {
      const nhwc = g.node('Transpose', [x], { perm: { ints: [0, 2, 3, 1] } });
      const gamma = vector(`${name}.ln.g`, [c]);
      const beta = vector(`${name}.ln.b`, [c]);
      return { name: g.node('LayerNormalization', [nhwc, gamma, beta], { axis: { i: -1 }, epsilon: { f: eps } }), layout: 'NHWC' };
    }
    // NCHW: statistics over axis 1, affine parameters broadcast as [C,1,1].
    const mu = g.node('ReduceMean', [x], { axes: { ints: [1] }, keepdims: { i: 1 } });
    const d = g.node('Sub', [x, mu]);
    const v = g.node('ReduceMean', [g.node('Mul', [d, d])], { axes: { ints: [1] }, keepdims: { i: 1 } });
    const epsName = g.init(`${name}.ln.eps`, [], new Float32Array([eps]));
    const n = g.node('Div', [d, g.node('Sqrt', [g.node('Add', [v, epsName])])]);
    const scaled = g.node('Mul', [n, vector(`${name}.ln.g`, [c, 1, 1])]);
    return { name: g.node('Add', [scaled, vector(`${name}.ln.b`, [c, 1, 1])]), layout: 'NCHW' };
  };

  const scaleInits = new Map<string, string>();
  /** Bilinear x`factor` in either layout (ORT's channels-last bilinear kernel is the faster one). */
  const resize = (f: Feature, factor: number, mode: 'asymmetric' | 'half_pixel'): Feature => {
    const dims = f.layout === 'NCHW' ? [1, 1, factor, factor] : [1, factor, factor, 1];
    const key = `scales_${f.layout}_x${factor}`;
    let scales = scaleInits.get(key);
    if (!scales) scaleInits.set(key, (scales = g.init(key, [4], new Float32Array(dims))));
    const name = g.node('Resize', [f.name, '', scales], { mode: { s: 'linear' }, coordinate_transformation_mode: { s: mode } });
    return { name, layout: f.layout };
  };

  // 1. DPF enrichment: the input first, then its 12 responses (fixed radius-1 kernels, zero padding).
  let h: Feature = { name: 'lr', layout: 'NCHW' };
  if (config.dpf) {
    const bank = dpfBankHWIO(1);
    const dpf = g.node('Conv', ['lr', kernel('dpf.w', bank)], { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } });
    h = { name: g.node('Concat', ['lr', dpf], { axis: { i: 1 } }), layout: 'NCHW' };
  }

  // The image the skip upsamples: the window's, or with `roi` the region's.
  let skipFrom = 'lr';
  const roiAxes = new Map<Layout, string>();
  const roi = (f: Feature): Feature => {
    let axes = roiAxes.get(f.layout);
    if (!axes) roiAxes.set(f.layout, (axes = g.initInt64(`roi_axes_${f.layout}`, f.layout === 'NCHW' ? [2, 3] : [1, 2])));
    return { name: g.node('Slice', [f.name, 'roi_starts', 'roi_ends', axes]), layout: f.layout };
  };

  // 2-3. Input module, then refinement modules each ending in a 1x1 projection to an image.
  const n = levelCount(config);
  const outputs: GraphValue[] = [];
  for (let k = 0; k <= n; k++) {
    if (k > 0) h = resize(h, 2, 'asymmetric');
    for (let j = 0; j < config.convsPerModule; j++) {
      const name = `g.l${k}.c${j}`;
      const normed = channelNorm(conv(nchw(h), name), name);
      h = { name: leaky(normed.name), layout: normed.layout };
    }
    if (k === 0 && config.body) {
      // The LR body (models/config.ts): residual blocks, all NCHW (no layer norm inside them).
      let x = nchw(h);
      for (let b = 0; b < config.body.blocks; b++) {
        let t = leaky(conv(x, `g.body${b}.a`));
        if (config.body.mixer) t = leaky(conv(t, `g.body${b}.m`));
        x = g.node('Add', [x, conv(t, `g.body${b}.z`)]);
        if (config.body.mlp) x = g.node('Add', [x, conv(leaky(conv(x, `g.body${b}.e`)), `g.body${b}.f`)]);
      }
      h = { name: x, layout: 'NCHW' };
    }
    if (k === 0 && opts.roi) {
      h = roi(h);
      skipFrom = roi({ name: 'lr', layout: 'NCHW' }).name;
    }
    if (k === 0) continue;
    const s = 2 ** k;
    const out = `y${s}`;
    const proj = [nchw(h), kernel(`g.l${k}.proj.w`, param(`g.l${k}.proj.w`)), vector(`g.l${k}.proj.b`, [1])];
    if (config.skip === 'bilinear') {
      const up = resize({ name: skipFrom, layout: 'NCHW' }, s, 'half_pixel').name;
      g.node('Add', [g.node('Conv', proj, { kernel_shape: { ints: [1, 1] } }), up], {}, out);
    } else g.node('Conv', proj, { kernel_shape: { ints: [1, 1] } }, out);
    outputs.push([out, opts.roi ? ['N', 1, `RH*${s}`, `RW*${s}`] : ['N', 1, `H*${s}`, `W*${s}`]]);
  }

  if (opts.taps) outputs.push(...addTaps(g));
  if (opts.int8) quantizeConvs(g, opts.int8.ranges, opts.int8.keepFloat);
  if (opts.webgpu) applyWebgpuWorkarounds(g);
  return g.toBytes({
    name: `phasesr-${config.name}-x${config.scale}`,
    inputs: [
      ['lr', ['N', 1, 'H', 'W']],
      ...(opts.roi
        ? ([
            ['roi_starts', [2], 'int64'],
            ['roi_ends', [2], 'int64'],
          ] as GraphValue[])
        : []),
    ],
    outputs,
    opset: ONNX_OPSET,
    docString: JSON.stringify(config),
  });
}

/** The minimum and maximum of every Conv's input and output, as extra scalar graph outputs (see `taps`). */
function addTaps(g: GraphBuilder): GraphValue[] {
  const taps: GraphValue[] = [];
  for (const n of [...g.nodes()]) {
    const w = n.input?.[1];
    if (n.opType !== 'Conv' || !w) continue;
    for (const [side, tensor] of [
      ['in', n.input![0]!],
      ['out', n.output![0]!],
    ] as const) {
      for (const op of ['ReduceMin', 'ReduceMax'] as const) {
        taps.push([g.node(op, [tensor], { keepdims: { i: 0 } }, `${tapName(w, side)}:${op === 'ReduceMin' ? 'min' : 'max'}`), []]);
      }
    }
  }
  return taps;
}
