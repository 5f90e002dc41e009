// Minimal reproductions of the two onnxruntime-node WebGPU kernel bugs the exporter works around
// (models/engine/webgpu-workarounds.ts), for the upstream reports in docs/gpu.md. Writes each one-node
// model to --out (default .cache/webgpu-repro/) and prints the CPU and WebGPU outputs and their difference.
//   node --import tsx bench/webgpu-repro.ts [--out DIR]
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../models/engine/onnx-graph';

const out = process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1]! : '.cache/webgpu-repro';
mkdirSync(out, { recursive: true });

interface Case {
  file: string;
  what: string;
  model: Uint8Array;
  shape: number[];
  x: Float32Array;
}

function resizeNhwc(): Case {
  const g = new GraphBuilder();
  const scales = g.init('scales', [4], new Float32Array([1, 2, 2, 1]));
  g.node('Resize', ['x', '', scales], { mode: { s: 'linear' }, coordinate_transformation_mode: { s: 'asymmetric' } }, 'y');
  const model = g.toBytes({ name: 'resize-nhwc', inputs: [['x', [1, 2, 2, 1]]], outputs: [['y', [1, 4, 4, 1]]], opset: 17 });
  return {
    file: 'resize-linear-scales-1221.onnx',
    what: 'Resize linear, scales [1,2,2,1], input [1,2,2,1] = 0 1 2 3',
    model,
    shape: [1, 2, 2, 1],
    x: new Float32Array([0, 1, 2, 3]),
  };
}

function convVec3(): Case {
  // 6 input channels (a multiple of 3, not of 4), 4 output channels, 3x3; small integer weights and inputs
  // (exact in float32), different per channel: uniform values hide the bug.
  const g = new GraphBuilder();
  const w = g.init(
    'w',
    [4, 6, 3, 3],
    Float32Array.from({ length: 4 * 6 * 9 }, (_, i) => (i % 5) - 2),
  );
  g.node('Conv', ['x', w], { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } }, 'y');
  const model = g.toBytes({ name: 'conv-6-to-4', inputs: [['x', [1, 6, 4, 4]]], outputs: [['y', [1, 4, 4, 4]]], opset: 17 });
  const x = Float32Array.from({ length: 96 }, (_, i) => i % 7);
  return {
    file: 'conv3x3-cin6-cout4.onnx',
    what: 'Conv 3x3, 6 -> 4 channels, w[i] = i % 5 - 2, x[i] = i % 7, input [1,6,4,4]',
    model,
    shape: [1, 6, 4, 4],
    x,
  };
}

for (const c of [resizeNhwc(), convVec3()]) {
  const file = path.join(out, c.file);
  writeFileSync(file, c.model);
  const results: Float32Array[] = [];
  for (const ep of ['cpu', 'webgpu']) {
    const s = await ort.InferenceSession.create(file, { executionProviders: [ep] });
    results.push((await s.run({ x: new ort.Tensor('float32', c.x.slice(), c.shape) })).y!.data as Float32Array);
    await s.release();
  }
  const [cpu, gpu] = results as [Float32Array, Float32Array];
  let d = 0;
  for (let i = 0; i < cpu.length; i++) d = Math.max(d, Math.abs(cpu[i]! - gpu[i]!));
  console.log(
    `${c.what}\n  model:  ${file}\n  cpu:    ${Array.from(cpu.slice(0, 16)).join(' ')}\n  ` +
      `webgpu: ${Array.from(gpu.slice(0, 16)).join(' ')}\n  max |cpu - webgpu| = ${d}\n`,
  );
}
