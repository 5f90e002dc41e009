// `phasesr info`: versions, engine, threads, optional accelerators found or not, and the shipped models.
import os from 'node:os';
import { readdirSync } from 'node:fs';
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { ortCudaAvailable, ortVersion } from '../../models/engine/ort-backend';
import { describeModel, SHIPPED_DIR } from '../../models/registry';
import { tfjsNativeInstalled } from '../../models/tfjs/runtime';
import { loadModel } from '../../models/weights-file';
import pkg from '../../package.json' with { type: 'json' };

export function infoCommand(): Command {
  return new Command('info')
    .description('print versions, the inference engine, threads, accelerators found, and the shipped models')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const info = await collectInfo();
      if (o.json) process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
      else process.stdout.write(formatInfo(info));
    });
}

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

function formatInfo(i: Awaited<ReturnType<typeof collectInfo>>): string {
  const lines = [
    `phasesr ${i.phasesr} (node ${i.node}, ${i.platform})`,
    `cpu: ${i.cpu.model}, ${i.cpu.cores} cores`,
    `engine: ${i.engine.default} (default), ${i.engine.threads} intra-op threads`,
    `versions: onnxruntime-node ${i.versions.onnxruntime}, tfjs ${i.versions.tfjs}, sharp ${i.versions.sharp} (libvips ${i.versions.libvips})`,
    'accelerators:',
    ...Object.entries(i.accelerators).map(([k, v]) => `  ${k}: ${v}`),
    'models:',
    ...i.models.map((m) => `  ${m.name}: ${m.summary}`),
  ];
  if (i.models.some((m) => !m.trained)) {
    lines.push('', 'NOTE: an UNTRAINED model gives bilinear-like output, not super-resolution; trained weights come with `phasesr train`.');
  }
  return `${lines.join('\n')}\n`;
}
