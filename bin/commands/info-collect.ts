// What `phasesr info` reports, gathered (loads the engines, so the CLI imports it only when asked).
import os from 'node:os';
import { readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { ortCudaAvailable, ortVersion } from '../../models/engine/ort-backend';
import { describeModel, SHIPPED_DIR } from '../../models/registry';
import { tfjsNativeInstalled } from '../../models/tfjs/runtime';
import { loadModel } from '../../models/weights-file';
import pkg from '../../package.json' with { type: 'json' };

export type Info = Awaited<ReturnType<typeof collectInfo>>;

export async function collectInfo() {
  const cuda = await ortCudaAvailable();
  const models = await Promise.all(
    readdirSync(SHIPPED_DIR, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map(async (d) => {
        try {
          const m = await loadModel(`${SHIPPED_DIR}/${d.name}`);
          return { name: d.name, trained: m.provenance.trained, summary: describeModel(m) };
        } catch (e) {
          return { name: d.name, trained: false, summary: `cannot load: ${(e as Error).message}` };
        }
      }),
  );
  return {
    phasesr: pkg.version,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpu: { model: os.cpus()[0]?.model ?? 'unknown', cores: os.availableParallelism() },
    engine: { default: 'ort-cpu', threads: os.availableParallelism() },
    versions: { onnxruntime: ortVersion(), tfjs: tf.version.tfjs, sharp: sharp.versions.sharp ?? '', libvips: sharp.versions.vips },
    accelerators: {
      'ort-cuda': cuda ? 'available (--engine ort-cuda)' : 'not available (no CUDA execution provider in this onnxruntime-node install)',
      'tfjs-node-gpu': tfjsNativeInstalled('@tensorflow/tfjs-node-gpu') ? 'installed (--engine tfjs)' : 'not installed (optional dependency)',
      'tfjs-node': tfjsNativeInstalled('@tensorflow/tfjs-node') ? 'installed (--engine tfjs)' : 'not installed (optional dependency)',
      'tfjs-wasm': 'available (training fallback, reference forward pass)',
    },
    models,
  };
}

