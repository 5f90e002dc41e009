// The serving engine on ONNX Runtime (onnxruntime-node), CPU, WebGPU (bundled; Vulkan on Linux) or CUDA:
// exports the generator to ONNX in memory and runs micro-batches through one session. The only file that
// imports onnxruntime-node.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { levelCount, type ModelConfig } from '../config';
import type { Weights } from '../params';
import { cascadeHalo, clippedWindow, type Rect } from '../tiling';
import type { LevelBatch, SuperResBackend } from './backend';
import { describeAdapter, probeGpuAdapters, type GpuAdapter } from './gpu-adapter';
import { CalibrationError, type Int8Calibration } from './int8-calibration-file';
import { quantizeConvs, type ConvRanges } from './int8-quantize';
import { exportOnnx, type ExportOptions } from './onnx-export';
import { countOps, GraphBuilder } from './onnx-graph';

export type OrtEngine = 'ort-cpu' | 'ort-int8' | 'ort-webgpu' | 'ort-cuda';

export interface OrtOptions {
  engine: OrtEngine;
  /** Intra-op threads; default: every available core. */
  threads?: number;
  /** Graph formulation choices (benchmarks compare them; serving keeps the defaults). */
  onnx?: ExportOptions;
  /** The activation ranges 'ort-int8' quantises with (required for it). */
  int8?: Int8Calibration | CalibrationError;
}

/** The engine asked for cannot start here (no GPU adapter, no CUDA libraries): nothing ran. */
export class EngineUnavailableError extends Error {
  readonly code = 'SR_ERR_ENGINE_UNAVAILABLE';
}

/** A GPU engine would run part of the graph on the CPU: refused, so a slow mix is never silent. */
export class EngineFallbackError extends Error {
  readonly code = 'SR_ERR_ENGINE_FALLBACK';
}

/** Export options each engine needs for results equal to the CPU engine's (docs/gpu.md). */
const ENGINE_EXPORT: Record<OrtEngine, ExportOptions> = { 'ort-cpu': {}, 'ort-int8': {}, 'ort-cuda': {}, 'ort-webgpu': { webgpu: true } };

export const ortVersion = (): string => ort.env.versions.node ?? ort.env.versions.common;

const PROVIDER: Record<OrtEngine, string> = { 'ort-cpu': 'cpu', 'ort-int8': 'cpu', 'ort-webgpu': 'webgpu', 'ort-cuda': 'cuda' };

function sessionOptions(engine: OrtEngine, threads: number): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [PROVIDER[engine]],
    // A GPU engine fails at session creation rather than quietly leaving nodes to the CPU provider.
    ...(PROVIDER[engine] === 'cpu' ? {} : { extra: { session: { disable_cpu_ep_fallback: '1' } } }),
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
  readonly adapter: GpuAdapter | undefined;
  readonly #session: ort.InferenceSession;
  readonly #outputs: { name: string; scale: number }[];
  /** Whether the graph has the region inputs (always, unless a benchmark asks for the one-input graph). */
  readonly #roi: boolean;

  private constructor(
    engine: OrtEngine,
    config: ModelConfig,
    threads: number,
    session: ort.InferenceSession,
    roi: boolean,
    adapter?: GpuAdapter,
  ) {
    this.#roi = roi;
    this.engine = engine;
    this.config = config;
    this.threads = threads;
    this.adapter = adapter;
    this.#session = session;
    this.#outputs = Array.from({ length: levelCount(config) }, (_, i) => ({ name: `y${2 ** (i + 1)}`, scale: 2 ** (i + 1) }));
  }

  static async create(config: ModelConfig, weights: Weights, opts: OrtOptions): Promise<OrtBackend> {
    const threads = opts.threads ?? os.availableParallelism();
    const int8 =
      opts.engine === 'ort-int8' ? { int8: { ranges: requireCalibration(config, opts.int8).ranges, keepFloat: keepFloat(config) } } : {};
    // With the region inputs unless a benchmark turns them off: a call without `need` feeds the whole window
    // (two Slices that copy the LR features, next to convolutions that dominate).
    const exported = { ...ENGINE_EXPORT[opts.engine], ...int8, roi: true, ...opts.onnx };
    const model = exportOnnx(config, weights, exported);
    const adapter = opts.engine === 'ort-webgpu' ? probeGpuAdapters().adapters[0] : undefined;
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(model, sessionOptions(opts.engine, threads));
    } catch (e) {
      throw startError(opts.engine, e as Error);
    }
    return new OrtBackend(opts.engine, config, threads, session, exported.roi, adapter);
  }

  async run(input: Float32Array, n: number, height: number, width: number, need?: Rect): Promise<LevelBatch[]> {
    if (input.length !== n * height * width)
      throw new RangeError(`input has ${input.length} values, expected ${n}x${height}x${width} = ${n * height * width}`);
    if (need && !(need.w > 0 && need.h > 0 && need.x >= 0 && need.y >= 0 && need.x + need.w <= width && need.y + need.h <= height))
      throw new RangeError(`need ${JSON.stringify(need)} is not inside the ${width}x${height} window`);
    // The cascade's region: what the caller needs plus the cascade's own reach, within the window.
    const r = need && this.#roi ? clippedWindow(need, cascadeHalo(this.config), width, height) : { x: 0, y: 0, w: width, h: height };
    const feeds: Record<string, ort.Tensor> = { lr: new ort.Tensor('float32', input, [n, 1, height, width]) };
    if (this.#roi) {
      feeds.roi_starts = new ort.Tensor('int64', BigInt64Array.from([r.y, r.x], BigInt), [2]);
      feeds.roi_ends = new ort.Tensor('int64', BigInt64Array.from([r.y + r.h, r.x + r.w], BigInt), [2]);
    }
    const result = await this.#session.run(feeds);
    return this.#outputs.map(({ name, scale }) => {
      const t = result[name];
      if (t?.type !== 'float32') throw new Error(`ONNX model returned no float32 output ${name}`);
      return { scale, height: r.h * scale, width: r.w * scale, data: t.data as Float32Array, origin: { x: r.x, y: r.y } };
    });
  }

  async dispose(): Promise<void> {
    await this.#session.release();
  }
}

function requireCalibration(config: ModelConfig, cal: Int8Calibration | CalibrationError | undefined): Int8Calibration {
  if (cal instanceof CalibrationError) throw cal;
  if (!cal)
    throw new CalibrationError(
      `ort-int8: model ${config.name} has no int8 calibration (int8-calibration.json beside model.json); measure it once with phasesr calibrate --model MODEL`,
    );
  return cal;
}

/**
 * Convolutions the int8 engine keeps in float32: the DPF bank (one input channel: ~0.1% of the FLOPs)
 * and each level's 1x1 projection to the image (1 output channel: its rounding would land on the output
 * pixels unfiltered).
 */
export const keepFloat =
  (config: ModelConfig) =>
  (weight: string): boolean =>
    (config.dpf && weight === 'dpf.w') || /\.proj\.w$/.test(weight);

function startError(engine: OrtEngine, e: Error): Error {
  const why = e.message.split('\n')[0]!.replace(/^.*(Failed to get a WebGPU adapter)/, '$1');
  if (/fallback to CPU EP has been explicitly disabled/.test(e.message))
    return new EngineFallbackError(
      `${engine}: ONNX Runtime ${ortVersion()} would run part of this model on the CPU (an op its ${PROVIDER[engine]} ` +
        `provider lacks); refused rather than mixing engines: use --engine ort-cpu`,
      { cause: e },
    );
  if (engine === 'ort-webgpu') {
    const probe = probeGpuAdapters();
    const listed = probe.adapters.length
      ? `Vulkan lists ${probe.adapters.map(describeAdapter).join(', ')}`
      : (probe.reason ?? 'no Vulkan device');
    return new EngineUnavailableError(
      `ort-webgpu: ONNX Runtime ${ortVersion()} could not start its WebGPU engine (${why}); ${listed}. It needs a Vulkan ` +
        `driver (docs/gpu.md); use --engine ort-cpu`,
      { cause: e },
    );
  }
  if (engine === 'ort-cuda')
    return new EngineUnavailableError(
      `ONNX Runtime ${ortVersion()} could not start its CUDA execution provider (${why}); ` +
        'it needs an NVIDIA GPU, CUDA 12 + cuDNN 9 libraries and the onnxruntime-node CUDA binaries (docs/gpu.md)',
      { cause: e },
    );
  return e;
}

/** Whether a session on ORT's CUDA execution provider can be created here (for `phasesr info`). */
export async function ortCudaAvailable(): Promise<boolean> {
  // Without the provider library (not shipped in the npm tarball; its install script fetches it) the
  // attempt below can only fail, and ORT would print a red error line on the way: skip it.
  const bin = path.join(
    path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node')),
    '..',
    'bin',
    'napi-v6',
    process.platform,
    process.arch,
  );
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
 * Measured GEMM throughput of ORT/MLAS here (GFLOP/s, or int8 GOP/s): an n x n x n MatMul (float32) or
 * MatMulInteger (uint8 x int8, as QLinearConv computes), best of `reps`. The practical ceiling for
 * convolution throughput figures (bench), next to the nominal peak.
 */
export async function ortMatMulGflops(n: number, threads: number, reps = 5, precision: 'float32' | 'int8' = 'float32'): Promise<number> {
  const g = new GraphBuilder();
  const b = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  if (precision === 'float32') g.node('MatMul', ['a', g.init('b', [n, n], b)], {}, 'c');
  else {
    // The int8 product of a quantised a (QuantizeLinear and the Cast back cost n^2 against its n^3).
    const aq = g.node('QuantizeLinear', ['a', g.init('s', [], new Float32Array([1 / 255])), g.initInt('z', [], new Uint8Array([128]))]);
    const c = g.node('MatMulInteger', [
      aq,
      g.initInt(
        'b',
        [n, n],
        Int8Array.from(b, (v) => Math.round(v * 200)),
      ),
    ]);
    g.node('Cast', [c], { to: { i: 1 } }, 'c');
  }
  const model = g.toBytes({ name: 'gemm', inputs: [['a', [n, n]]], outputs: [['c', [n, n]]], opset: 17 });
  const s = await ort.InferenceSession.create(model, sessionOptions('ort-cpu', threads));
  const feeds = { a: new ort.Tensor('float32', b.slice(), [n, n]) };
  return (2 * n ** 3) / ((await bestRunMs(s, feeds, reps)) * 1e6);
}

/**
 * Measured convolution throughput of ORT here (GFLOP/s, or int8 GOP/s; 2 per multiply-add): a chain of
 * `depth` 3x3 Convs of `channels` in and out on a `size`² map, best of `reps`. 'int8' is the engine's own
 * QDQ form (int8-quantize.ts), which ORT fuses into QLinearConv as it does for the model. A GEMM understates
 * what MLAS's convolution kernels reach (measured: a 1024³ MatMul below the model's own conv rate), so the
 * floor uses this.
 */
export async function ortConvGflops(
  shape: { channels: number; size: number; depth?: number },
  threads: number,
  reps = 5,
  precision: 'float32' | 'int8' = 'float32',
): Promise<number> {
  const { channels: c, size, depth = 4 } = shape;
  const g = new GraphBuilder();
  const ranges: ConvRanges = {};
  let x = 'x';
  for (let d = 0; d < depth; d++) {
    const w = new Float32Array(c * c * 9).map((_, i) => (((i + d) * 7919) % 1000) / 1000 - 0.5);
    g.init(`c${d}.w`, [c, c, 3, 3], w);
    g.init(`c${d}.b`, [c], new Float32Array(c));
    x = g.node('Conv', [x, `c${d}.w`, `c${d}.b`], { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } });
    ranges[`c${d}.w`] = { input: [-1, 1], output: [-1, 1] };
  }
  g.node('Identity', [x], {}, 'y');
  if (precision === 'int8') quantizeConvs(g, ranges);
  const model = g.toBytes({ name: 'conv', inputs: [['x', [1, c, size, size]]], outputs: [['y', [1, c, size, size]]], opset: 17 });
  const s = await ort.InferenceSession.create(model, sessionOptions('ort-cpu', threads));
  const feeds = {
    x: new ort.Tensor(
      'float32',
      new Float32Array(c * size * size).map((_, i) => ((i * 31) % 200) / 100 - 1),
      [1, c, size, size],
    ),
  };
  return (depth * 2 * 9 * c * c * size * size) / ((await bestRunMs(s, feeds, reps)) * 1e6);
}

/** The fastest of `reps` timed runs (after one untimed first run), in ms; releases the session. */
async function bestRunMs(s: ort.InferenceSession, feeds: Record<string, ort.Tensor>, reps: number): Promise<number> {
  let best = Infinity;
  try {
    for (let i = 0; i <= reps; i++) {
      const t0 = performance.now();
      await s.run(feeds);
      if (i > 0) best = Math.min(best, performance.now() - t0);
    }
  } finally {
    await s.release();
  }
  return best;
}

/**
 * Runs a float graph with one input `lr` [1,1,H,W] on the CPU engine for each patch, handing every call's
 * float32 outputs to `each` (calibration reads the graph's taps this way).
 */
export async function ortRunEach(
  model: Uint8Array,
  patches: Iterable<{ data: Float32Array; height: number; width: number }>,
  each: (outputs: Record<string, Float32Array>) => void,
  threads = os.availableParallelism(),
): Promise<void> {
  const s = await ort.InferenceSession.create(model, sessionOptions('ort-cpu', threads));
  try {
    for (const p of patches) {
      const result = await s.run({ lr: new ort.Tensor('float32', p.data, [1, 1, p.height, p.width]) });
      const outs: Record<string, Float32Array> = {};
      for (const [k, t] of Object.entries(result)) if (t.type === 'float32') outs[k] = t.data as Float32Array;
      each(outs);
    }
  } finally {
    await s.release();
  }
}

/**
 * The operators ORT's CPU engine runs for `model` after its graph optimisations (op type -> count, domain
 * prefixed when not the default): shows whether a QDQ graph became int8 kernels (QLinearConv).
 */
export async function ortOptimisedOps(model: Uint8Array): Promise<Record<string, number>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'phasesr-ort-'));
  const file = path.join(dir, 'optimised.onnx');
  try {
    // ORT warns that a model saved at this level is machine-specific: true, and why it is only counted here.
    const s = await ort.InferenceSession.create(model, {
      ...sessionOptions('ort-cpu', 1),
      optimizedModelFilePath: file,
      logSeverityLevel: 3,
    });
    await s.release();
    return countOps(await readFile(file));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
