// Exports the generator (models/README.md, "The generator, exactly") as an ONNX model, opset 17, NCHW,
// with dynamic batch and spatial size: input "lr" [N,1,H,W], outputs "y2", "y4", "y8" [N,1,H*s,W*s].
import { levelCount, type ModelConfig } from '../config';
import { dpfBankHWIO } from '../dpf/dpf';
import type { NamedTensor, Weights } from '../params';
import { GraphBuilder } from './onnx-graph';

export const ONNX_OPSET = 17;

export interface ExportOptions {
  /**
   * How the per-pixel channel layer norm is expressed. 'layernorm': Transpose to NHWC, LayerNormalization
   * over the last axis, Transpose back (the default: ORT fuses it and it measured faster).
   * 'reducemean': ReduceMean/Sub/Mul/Sqrt over axis 1 in NCHW (kept for benchmarking the alternative).
   */
  layerNorm?: 'layernorm' | 'reducemean';
}

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

  const conv3x3 = (x: string, name: string): string =>
    g.node('Conv', [x, kernel(`${name}.w`, param(`${name}.w`)), vector(`${name}.b`, param(`${name}.b`).shape)], {
      kernel_shape: { ints: [3, 3] },
      pads: { ints: [1, 1, 1, 1] },
    });

  const channelNorm = (x: string, name: string): string => {
    const eps = config.lnEpsilon;
    const c = param(`${name}.ln.g`).data.length;
    if (lnImpl === 'layernorm') {
      const nhwc = g.node('Transpose', [x], { perm: { ints: [0, 2, 3, 1] } });
      const gamma = vector(`${name}.ln.g`, [c]);
      const beta = vector(`${name}.ln.b`, [c]);
      const n = g.node('LayerNormalization', [nhwc, gamma, beta], { axis: { i: -1 }, epsilon: { f: eps } });
      return g.node('Transpose', [n], { perm: { ints: [0, 3, 1, 2] } });
    }
    // NCHW: statistics over axis 1, affine parameters broadcast as [C,1,1].
    const mu = g.node('ReduceMean', [x], { axes: { ints: [1] }, keepdims: { i: 1 } });
    const d = g.node('Sub', [x, mu]);
    const v = g.node('ReduceMean', [g.node('Mul', [d, d])], { axes: { ints: [1] }, keepdims: { i: 1 } });
    const epsName = g.init(`${name}.ln.eps`, [], new Float32Array([eps]));
    const n = g.node('Div', [d, g.node('Sqrt', [g.node('Add', [v, epsName])])]);
    const scaled = g.node('Mul', [n, vector(`${name}.ln.g`, [c, 1, 1])]);
    return g.node('Add', [scaled, vector(`${name}.ln.b`, [c, 1, 1])]);
  };

  const scaleInits = new Map<number, string>();
  const resize = (x: string, factor: number, mode: 'asymmetric' | 'half_pixel'): string => {
    let scales = scaleInits.get(factor);
    if (!scales) scaleInits.set(factor, (scales = g.init(`scales_x${factor}`, [4], new Float32Array([1, 1, factor, factor]))));
    return g.node('Resize', [x, '', scales], {
      mode: { s: 'linear' },
      coordinate_transformation_mode: { s: mode },
    });
  };

  // 1. DPF enrichment: the input first, then its 12 responses (fixed radius-1 kernels, zero padding).
  let h = 'lr';
  if (config.dpf) {
    const bank = dpfBankHWIO(1);
    const dpf = g.node('Conv', ['lr', kernel('dpf.w', bank)], { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } });
    h = g.node('Concat', ['lr', dpf], { axis: { i: 1 } });
  }

  // 2-3. Input module, then refinement modules each ending in a 1x1 projection to an image.
  const n = levelCount(config);
  const outputs: [string, (string | number)[]][] = [];
  for (let k = 0; k <= n; k++) {
    if (k > 0) h = resize(h, 2, 'asymmetric');
    for (let j = 0; j < config.convsPerModule; j++) {
      const name = `g.l${k}.c${j}`;
      h = g.node('LeakyRelu', [channelNorm(conv3x3(h, name), name)], { alpha: { f: config.leakySlope } });
    }
    if (k === 0) continue;
    const s = 2 ** k;
    const out = `y${s}`;
    const proj = [h, kernel(`g.l${k}.proj.w`, param(`g.l${k}.proj.w`)), vector(`g.l${k}.proj.b`, [1])];
    if (config.skip === 'bilinear') g.node('Add', [g.node('Conv', proj, { kernel_shape: { ints: [1, 1] } }), resize('lr', s, 'half_pixel')], {}, out);
    else g.node('Conv', proj, { kernel_shape: { ints: [1, 1] } }, out);
    outputs.push([out, ['N', 1, `H*${s}`, `W*${s}`]]);
  }

  return g.toBytes({
    name: `phasesr-${config.name}-x${config.scale}`,
    inputs: [['lr', ['N', 1, 'H', 'W']]],
    outputs,
    opset: ONNX_OPSET,
    docString: JSON.stringify(config),
  });
}
