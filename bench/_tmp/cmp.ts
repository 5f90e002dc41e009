import * as tf from '@tensorflow/tfjs';
import { parseConfig } from '../../models/config';
import { generatorParams, mulberry32, randomWeights } from '../../models/params';
import { generatorForward, weightsToTensors } from '../../models/tfjs/generator';
import { initTfjs } from '../../models/tfjs/runtime';
import { OrtBackend } from '../../models/engine/ort-backend';
import { refForward } from './ref';
for (const be of ['wasm', 'cpu'] as const) {
  await tf.setBackend(be === 'wasm' ? (await initTfjs('wasm'), 'wasm') : 'cpu');
  console.log(tf.getBackend());
  const cfg = parseConfig({ leakySlope: 0.2, lnEpsilon: 1e-5, discWidths: [4, 4, 4, 4], name: 'a', scale: 8, widths: [8, 8, 6, 4], convsPerModule: 2, dpf: true, skip: 'bilinear' });
  const [N, H, W] = [2, 20, 24];
  const wts = randomWeights(generatorParams(cfg), 100);
  const rand = mulberry32(200);
  const input = Float32Array.from({ length: N * H * W }, () => rand());
  const p = weightsToTensors(wts);
  const outs = tf.tidy(() => generatorForward(cfg, p, tf.tensor4d(input, [N, H, W, 1])));
  const o = await OrtBackend.create(cfg, wts, { engine: 'ort-cpu', threads: 1 });
  const got = await o.run(input, N, H, W);
  for (let n = 0; n < N; n++) {
    const ref = refForward(cfg, wts, input.subarray(n * H * W, (n + 1) * H * W), H, W);
    for (let k = 0; k < 3; k++) {
      const t = outs[k]!.dataSync(); const len = ref[k]!.length;
      let a = 0, b = 0, ai = 0;
      for (let i = 0; i < len; i++) { const d = Math.abs(t[n * len + i]! - ref[k]![i]!); if (d > a) { a = d; ai = i; } b = Math.max(b, Math.abs(got[k]!.data[n * len + i]! - ref[k]![i]!)); }
      console.log(n, k, 'tfjs-ref', a.toExponential(2), 'at', ai, 'ort-ref', b.toExponential(2));
    }
  }
}
