// The serving engine on ONNX Runtime (onnxruntime-node), CPU or CUDA: exports the generator to ONNX in
// memory and runs micro-batches through one session. The only file that imports onnxruntime-node.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { levelCount, type ModelConfig } from '../config';
import type { Weights } from '../params';
import type { LevelBatch, SuperResBackend } from './backend';
import { exportOnnx, type ExportOptions } from './onnx-export';
import { GraphBuilder } from './onnx-graph';

export type OrtEngine = 'ort-cpu' | 'ort-cuda';

export interface OrtOptions {
  engine: OrtEngine;
  /** Intra-op threads; default: every available core. */
  threads?: number;
  /** Graph formulation choices (benchmarks compare them; serving keeps the defaults). */
  onnx?: ExportOptions;
}

export class EngineUnavailableError extends Error {
  readonly code = 'SR_ERR_ENGINE_UNAVAILABLE';
}

export const ortVersion = (): string => ort.env.versions.node ?? ort.env.versions.common;

function sessionOptions(engine: OrtEngine, threads: number): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [engine === 'ort-cuda' ? 'cuda' : 'cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    // One graph, one chain of ops: parallelism is inside the convolutions, not between nodes.
    executionMode: 'sequential',
    // The memory pattern pre-plans one buffer per input shape; without it the peak of an 80x80 window at
    // batch 1 fell from ~380 to ~275 MB above the process base, at the same speed (measured interleaved).
    enableMemPattern: false,
  };
}

export class OrtBackend implements SuperResBackend {
  readonly engine: OrtEngine;
  readonly config: ModelConfig;
  readonly threads: number;
  readonly #session: ort.InferenceSession;
  readonly #outputs: { name: string; scale: number }[];

  private constructor(engine: OrtEngine, config: ModelConfig, threads: number, session: ort.InferenceSession) {
    this.engine = engine;
    this.config = config;
    this.threads = threads;
    this.#session = session;
    this.#outputs = Array.from({ length: levelCount(config) }, (_, i) => ({ name: `y${2 ** (i + 1)}`, scale: 2 ** (i + 1) }));
  }

  static async create(config: ModelConfig, weights: Weights, opts: OrtOptions): Promise<OrtBackend> {
    const threads = opts.threads ?? os.availableParallelism();
    const model = exportOnnx(config, weights, opts.onnx);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(model, sessionOptions(opts.engine, threads));
    } catch (e) {
      if (opts.engine !== 'ort-cuda') throw e;
      throw new EngineUnavailableError(
        `ONNX Runtime ${ortVersion()} could not start its CUDA execution provider (${(e as Error).message}); ` +
          'it needs an NVIDIA GPU, CUDA 12 + cuDNN 9 libraries and the onnxruntime-node CUDA binaries',
        { cause: e },
      );
    }
    return new OrtBackend(opts.engine, config, threads, session);
  }

  async run(input: Float32Array, n: number, height: number, width: number): Promise<LevelBatch[]> {
    if (input.length !== n * height * width)
      throw new RangeError(`input has ${input.length} values, expected ${n}x${height}x${width} = ${n * height * width}`);
    const feeds = { lr: new ort.Tensor('float32', input, [n, 1, height, width]) };
    const result = await this.#session.run(feeds);
    return this.#outputs.map(({ name, scale }) => {
      const t = result[name];
      if (!t || t.type !== 'float32') throw new Error(`ONNX model returned no float32 output ${name}`);
      return { scale, height: height * scale, width: width * scale, data: t.data as Float32Array };
    });
  }

  async dispose(): Promise<void> {
    await this.#session.release();
  }
}

/** Whether a session on ORT's CUDA execution provider can be created here (for `phasesr info`). */
export async function ortCudaAvailable(): Promise<boolean> {
  // Without the provider library (not shipped in the npm tarball; its install script fetches it) the
  // attempt below can only fail, and ORT would print a red error line on the way: skip it.
  const bin = path.join(path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
  if (process.platform === 'linux' && existsSync(bin) && !existsSync(path.join(bin, 'libonnxruntime_providers_cuda.so'))) return false;
  const g = new GraphBuilder();
  g.node('Identity', ['x'], {}, 'y');
  const model = g.toBytes({ name: 'probe', inputs: [['x', [1]]], outputs: [['y', [1]]], opset: 17 });
  try {
    const s = await ort.InferenceSession.create(model, sessionOptions('ort-cuda', 1));
    await s.release();
    return true;
  } catch {
    return false;
  }
}

/**
 * Measured single-precision GEMM throughput of ORT/MLAS here (GFLOP/s): an n x n x n MatMul, best of
 * `reps`. The practical ceiling for convolution throughput figures (bench), next to the nominal peak.
 */
export async function ortMatMulGflops(n: number, threads: number, reps = 5): Promise<number> {
  const g = new GraphBuilder();
  const b = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  g.node('MatMul', ['a', g.init('b', [n, n], b)], {}, 'c');
  const model = g.toBytes({ name: 'gemm', inputs: [['a', [n, n]]], outputs: [['c', [n, n]]], opset: 17 });
  const s = await ort.InferenceSession.create(model, sessionOptions('ort-cpu', threads));
  const feeds = { a: new ort.Tensor('float32', b.slice(), [n, n]) };
  let best = Infinity;
  for (let i = 0; i <= reps; i++) {
    const t0 = performance.now();
    await s.run(feeds);
    if (i > 0) best = Math.min(best, performance.now() - t0);
  }
  await s.release();
  return (2 * n ** 3) / (best * 1e6);
}
