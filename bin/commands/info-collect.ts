// What `phasesr info` reports, gathered (loads the engines, so the CLI imports it only when asked).
import os from 'node:os';
import { readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { DEFAULT_ENGINE } from '../../models/engine/backend';
import { autoEngine } from '../../models/engine/create-engine';
import { describeAdapter, hardwareAdapter, probeGpuAdapters } from '../../models/engine/gpu-adapter';
import { ortCudaAvailable, ortVersion } from '../../models/engine/ort-backend';
import { DEFAULT_MODEL, describeModel, SHIPPED_DIR } from '../../models/registry';
import { tfjsNativeInstalled } from '../../models/tfjs/runtime';
import { loadModel } from '../../models/weights-file';
import pkg from '../../package.json' with { type: 'json' };

export type Info = Awaited<ReturnType<typeof collectInfo>>;

export async function collectInfo() {
  const cuda = await ortCudaAvailable();
  const gpu = probeGpuAdapters();
  const hardwareGpu = Boolean(hardwareAdapter(gpu));
  const models = await Promise.all(
    readdirSync(SHIPPED_DIR, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map(async (d) => {
        try {
          const m = await loadModel(`${SHIPPED_DIR}/${d.name}`);
          return { name: d.name, trained: m.provenance.trained, summary: describeModel(m), auto: autoEngine(hardwareGpu, m.int8) };
        } catch (e) {
          return { name: d.name, trained: false, summary: `cannot load: ${(e as Error).message}`, auto: null };
        }
      }),
  );
  return {
    phasesr: pkg.version,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpu: { model: os.cpus()[0]?.model ?? 'unknown', cores: os.availableParallelism() },
    /** auto: what the default engine starts for the default model (each model's own is in models[].auto). */
    engine: {
      default: DEFAULT_ENGINE,
      auto: models.find((m) => m.name === DEFAULT_MODEL)?.auto ?? autoEngine(hardwareGpu, undefined),
      threads: os.availableParallelism(),
    },
    /** Vulkan devices, best first: the WebGPU engine runs on the first. */
    gpuAdapters: gpu.adapters,
    versions: { onnxruntime: ortVersion(), tfjs: tf.version.tfjs, sharp: sharp.versions.sharp ?? '', libvips: sharp.versions.vips },
    accelerators: {
      'ort-webgpu': gpu.adapters[0]
        ? `${describeAdapter(gpu.adapters[0])}${
            gpu.adapters[0].software
              ? ': a software adapter, slower than the CPU ' + 'engine (--engine ort-webgpu runs on it; auto does not)'
              : ' (--engine ort-webgpu or auto)'
          }`
        : `not available (${gpu.reason})`,
      'ort-cuda': cuda ? 'available (--engine ort-cuda)' : 'not available (no CUDA execution provider in this onnxruntime-node install)',
      'tfjs-node-gpu': tfjsNativeInstalled('@tensorflow/tfjs-node-gpu')
        ? 'installed (--engine tfjs)'
        : 'not installed (optional dependency)',
      'tfjs-node': tfjsNativeInstalled('@tensorflow/tfjs-node') ? 'installed (--engine tfjs)' : 'not installed (optional dependency)',
      'tfjs-wasm': 'available (training fallback, reference forward pass)',
    },
    models,
  };
}
