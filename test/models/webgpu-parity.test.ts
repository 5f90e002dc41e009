// The WebGPU engine (onnxruntime-node's bundled one, over Vulkan) against the CPU engine, for real on
// whatever adapter Vulkan lists: in CI that is Mesa's lavapipe (.ci/run installs it), slow (~seconds per
// call) but a full Vulkan implementation, so inputs stay small. Every level must agree to 1e-4, for the whole
// window and for a call that names the part it needs (the tile server's).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  createEngine,
  DEFAULT_MODEL,
  generatorParams,
  levelCount,
  parseConfig,
  resolveModel,
  type ModelConfig,
  type Weights,
} from '../../models';
import { probeGpuAdapters } from '../../models/engine/gpu-adapter';
import { mulberry32, randomWeights } from '../../models/params';

const TOL = 1e-4;
// Not square, so a swapped H and W would show; batch 2, so a mixed-up batch axis would too.
const [N, H, W] = [2, 12, 16];

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function parity(config: ModelConfig, weights: Weights): Promise<void> {
  const rand = mulberry32(7);
  const input = Float32Array.from({ length: N * H * W }, () => rand());
  const logs: string[] = [];
  const cpu = await createEngine(config, weights, { engine: 'ort-cpu', threads: 1, log: () => {} });
  const gpu = await createEngine(config, weights, { engine: 'ort-webgpu', log: (l) => logs.push(l) });
  try {
    assert.equal(gpu.engine, 'ort-webgpu');
    assert.ok(gpu.adapter, 'the WebGPU engine names its adapter');
    assert.match(logs.join('\n'), /engine: ort-webgpu, on /);
    // The whole window, then a call naming a small need: the cascade then runs on a region cut on three sides.
    for (const need of [undefined, { x: 8, y: 1, w: 2, h: 2 }]) {
      const want = await cpu.run(input.slice(), N, H, W, need);
      const got = await gpu.run(input.slice(), N, H, W, need);
      assert.equal(got.length, levelCount(config));
      for (const [k, level] of got.entries()) {
        const ref = want[k]!;
        assert.deepEqual(
          [level.scale, level.height, level.width, level.data.length, level.origin],
          [ref.scale, ref.height, ref.width, ref.data.length, ref.origin],
        );
        if (need) assert.ok(ref.width < W * ref.scale && ref.height < H * ref.scale, 'the need call returns a region, not the window');
        const d = maxAbsDiff(level.data, ref.data);
        assert.ok(d <= TOL, `y${level.scale} (need ${JSON.stringify(need)}): WebGPU differs from the CPU engine by ${d}`);
        assert.ok(Math.max(...ref.data) - Math.min(...ref.data) > 0.1, `y${level.scale}: the reference output is not flat`);
      }
    }
  } finally {
    await cpu.dispose();
    await gpu.dispose();
  }
}

test('a Vulkan adapter is there to test on (CI installs lavapipe from bookworm-backports)', () => {
  const p = probeGpuAdapters();
  assert.ok(p.adapters.length > 0, `no Vulkan adapter: ${p.reason}`);
});

test(`WebGPU equals the CPU engine at every level: the default model (${DEFAULT_MODEL})`, async () => {
  const m = await resolveModel(DEFAULT_MODEL);
  await parity(m.config, m.weights);
});

test('WebGPU equals the CPU engine at every level: x4, no DPF, no skip, one conv per module', async () => {
  const config = parseConfig({
    name: 'gpu-plain',
    scale: 4,
    widths: [8, 6, 4],
    convsPerModule: 1,
    dpf: false,
    skip: 'none',
    leakySlope: 0.2,
    lnEpsilon: 1e-5,
    discWidths: [4, 4, 4, 4],
  });
  await parity(config, randomWeights(generatorParams(config), 11));
});

test("'auto' never takes a software adapter: on lavapipe it keeps the CPU engine and says why, with a code", async (t) => {
  const p = probeGpuAdapters();
  if (p.adapters.some((a) => !a.software)) {
    t.diagnostic('a hardware GPU is present: auto takes it');
    return;
  }
  const m = await resolveModel(DEFAULT_MODEL);
  const logs: string[] = [];
  const e = await createEngine(m.config, m.weights, { engine: 'auto', threads: 1, log: (l) => logs.push(l) });
  await e.dispose();
  // the shipped model is given without its calibration here, so the CPU leg is float32
  assert.equal(e.engine, 'ort-cpu');
  assert.match(logs.join('\n'), /SR_ERR_ENGINE_UNAVAILABLE: no hardware GPU .*software.*using the CPU/);
});
