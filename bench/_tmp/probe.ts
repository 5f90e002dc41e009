import * as ort from 'onnxruntime-node';
import { parseConfig } from '../../models/config';
import { generatorParams, randomWeights, mulberry32 } from '../../models/params';
import { exportOnnx } from '../../models/engine/onnx-export';
import { refForward } from './ref';
const cfgs = [
  parseConfig({ name: 'a', scale: 8, widths: [8, 8, 6, 4], convsPerModule: 2, dpf: true, skip: 'bilinear', leakySlope: 0.2, lnEpsilon: 1e-5, discWidths: [4, 4, 4, 4] }),
  parseConfig({ name: 'b', scale: 4, widths: [8, 6, 4], convsPerModule: 1, dpf: false, skip: 'none', leakySlope: 0.2, lnEpsilon: 1e-5, discWidths: [4, 4, 4, 4] }),
];
const N = 2, H = 7, W = 9;
for (const cfg of cfgs) for (const ln of ['layernorm', 'reducemean'] as const) {
  const wts = randomWeights(generatorParams(cfg), 3);
  const s = await ort.InferenceSession.create(exportOnnx(cfg, wts, { layerNorm: ln }), { graphOptimizationLevel: 'all' });
  const rnd = mulberry32(5);
  const x = new Float32Array(N * H * W).map(() => rnd());
  const r = await s.run({ lr: new ort.Tensor('float32', x, [N, 1, H, W]) });
  for (let n = 0; n < N; n++) {
    const ref = refForward(cfg, wts, x.subarray(n * H * W, (n + 1) * H * W), H, W);
    ref.forEach((rv, k) => { const o = r[`y${2 ** (k + 1)}`]!.data as Float32Array; const off = n * rv.length; let m = 0; for (let i = 0; i < rv.length; i++) m = Math.max(m, Math.abs(o[off + i]! - rv[i]!)); console.log(cfg.name, ln, n, k, m.toExponential(2)); });
  }
}
