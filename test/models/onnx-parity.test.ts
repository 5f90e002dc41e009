// Holds the two runtimes together: the ONNX export run by ONNX Runtime must equal the tfjs reference
// forward pass (models/tfjs/generator.ts) to 1e-4 at every level, for configs covering every option.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { levelCount, parseConfig, type ModelConfig } from '../../models/config';
import { OrtBackend } from '../../models/engine/ort-backend';
import { generatorParams, mulberry32, randomWeights } from '../../models/params';
import { generatorForward, weightsToTensors } from '../../models/tfjs/generator';
import { initTfjs } from '../../models/tfjs/runtime';

const TOL = 1e-4;
const [N, H, W] = [2, 20, 24];
const BASE = { leakySlope: 0.2, lnEpsilon: 1e-5, discWidths: [4, 4, 4, 4] };

const CONFIGS: ModelConfig[] = [
  parseConfig({ ...BASE, name: 'parity-dpf-skip', scale: 8, widths: [8, 8, 6, 4], convsPerModule: 2, dpf: true, skip: 'bilinear' }),
  parseConfig({
    ...BASE,
    name: 'parity-body',
    scale: 8,
    widths: [8, 8, 6, 4],
    convsPerModule: 2,
    dpf: true,
    skip: 'bilinear',
    body: { blocks: 2, mixer: true },
  }),
  parseConfig({
    ...BASE,
    name: 'parity-body-mlp',
    scale: 8,
    widths: [8, 8, 6, 4],
    convsPerModule: 2,
    dpf: true,
    skip: 'bilinear',
    body: { blocks: 2, mixer: false, mlp: 12 },
  }),
  parseConfig({ ...BASE, name: 'parity-plain', scale: 4, widths: [8, 6, 4], convsPerModule: 1, dpf: false, skip: 'none' }),
];

before(async () => {
  // wasm where it loads (as in serving), else tfjs's plain JS backend: both are float32 references.
  await initTfjs('wasm');
});

after(() => {
  tf.disposeVariables();
});

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const spread = (a: Float32Array): number => Math.max(...a) - Math.min(...a);

for (const [i, cfg] of CONFIGS.entries()) {
  test(`ONNX Runtime equals the tfjs generator: ${cfg.name} (x${cfg.scale}, dpf ${cfg.dpf}, skip ${cfg.skip})`, async (t) => {
    const weights = randomWeights(generatorParams(cfg), 100 + i);
    const rand = mulberry32(200 + i);
    const input = Float32Array.from({ length: N * H * W }, () => rand());

    const params = weightsToTensors(weights);
    const refTensors = tf.tidy(() => generatorForward(cfg, params, tf.tensor4d(input, [N, H, W, 1])));
    // 1-channel NHWC and NCHW share one memory layout, so the buffers compare element by element.
    const ref = await Promise.all(refTensors.map(async (r) => ({ shape: r.shape, data: (await r.data()) as Float32Array })));
    tf.dispose([...refTensors, ...params.values()]);

    const ort = await OrtBackend.create(cfg, weights, { engine: 'ort-cpu', threads: 1 });
    const got = await ort.run(input, N, H, W);
    await ort.dispose();

    assert.equal(got.length, levelCount(cfg));
    assert.equal(ref.length, levelCount(cfg));
    for (const [k, level] of got.entries()) {
      const s = 2 ** (k + 1);
      const r = ref[k]!;
      assert.deepEqual(r.shape, [N, H * s, W * s, 1], `tfjs level x${s} shape`);
      assert.deepEqual(
        [level.scale, level.height, level.width, level.data.length],
        [s, H * s, W * s, N * H * s * W * s],
        `ORT level x${s} shape`,
      );
      // A constant output would match a constant reference without testing anything.
      assert.ok(spread(level.data) > 0.1, `ORT level x${s} is (nearly) constant`);
      const d = maxAbsDiff(level.data, r.data);
      assert.ok(d <= TOL, `level x${s}: max |ORT - tfjs| = ${d.toExponential(2)} > ${TOL}`);
      t.diagnostic(`x${s}: max |ORT - tfjs| = ${d.toExponential(2)} (${tf.getBackend()})`);
    }
  });
}
