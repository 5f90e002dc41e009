import * as ort from 'onnxruntime-node';
import { PRESETS, parseConfig } from '../../models/config';
import { generatorParams, initWeights } from '../../models/params';
import { exportOnnx } from '../../models/engine/onnx-export';
import { generatorFlops } from '../../models/engine/flops';
const cfgs = [PRESETS.lite(8), PRESETS.paper(8)];
for (const cfg of cfgs) for (const ln of ['layernorm', 'reducemean'] as const) for (const b of [1, 8]) {
  if (cfg.name === 'paper' && b === 8) continue;
  const s = await ort.InferenceSession.create(exportOnnx(cfg, initWeights(generatorParams(cfg), 1), { layerNorm: ln }), { graphOptimizationLevel: 'all', intraOpNumThreads: 2, executionMode: 'sequential' });
  const x = new Float32Array(b * 32 * 32).fill(0.3);
  const feeds = { lr: new ort.Tensor('float32', x, [b, 1, 32, 32]) };
  await s.run(feeds);
  const ts: number[] = [];
  const reps = cfg.name === 'paper' ? 3 : 10;
  for (let i = 0; i < reps; i++) { const t0 = performance.now(); await s.run(feeds); ts.push(performance.now() - t0); }
  ts.sort((a, c) => a - c);
  const med = ts[Math.floor(ts.length / 2)]!;
  console.log(cfg.name, ln, b, med.toFixed(1), 'ms', (generatorFlops(cfg, 32, 32) * b / med / 1e6).toFixed(1), 'GFLOP/s', 'min', ts[0]!.toFixed(1));
  await s.release();
}
