// The engine contract: what serving code (CLI, server) sees of a runtime. Implementations:
// ort-backend.ts (onnxruntime-node: CPU, WebGPU or CUDA) and tfjs-backend.ts (tfjs-node-gpu / tfjs-node / wasm).
import type { ModelConfig } from '../config';
import type { Rect } from '../tiling';
import type { GpuAdapter } from './gpu-adapter';

/** Engine names as logged. */
export type EngineName = 'ort-cpu' | 'ort-int8' | 'ort-webgpu' | 'ort-cuda' | 'tfjs-node-gpu' | 'tfjs-node' | 'tfjs-wasm' | 'tfjs-cpu';

/**
 * What `--engine` accepts: 'ort-int8' is the CPU engine with static int8 convolutions (the model's
 * int8-calibration.json); 'auto' takes ort-webgpu when Vulkan lists a hardware GPU, else the CPU's best,
 * ort-int8 (ort-cpu for a model without a valid calibration; never a software adapter); 'tfjs' takes the
 * best tfjs backend installed (node-gpu, node, then wasm).
 */
export const ENGINE_CHOICES = ['ort-cpu', 'ort-int8', 'ort-webgpu', 'auto', 'ort-cuda', 'tfjs'] as const;
export type EngineChoice = (typeof ENGINE_CHOICES)[number];

/**
 * The engine used without --engine: 'auto'. On a machine without a hardware GPU that is ort-int8, which won
 * on the CPU on speed and quality (docs/benchmarks/int8.md: body 1.41x per block, -0.005 dB at 8x; ort-cpu,
 * said in one line, for a model without a valid calibration). On a hardware GPU it is ort-webgpu, which on an
 * NVIDIA H200 matched the CPU engine to 1.1e-6 and served a cold 1920x1080 8x viewport 12x faster than 16 CPU
 * cores (docs/benchmarks/gpu.md).
 */
export const DEFAULT_ENGINE: EngineChoice = 'auto';

/** One call's output at one level: `n` images of height x width, row-major, float32, normalised units. */
export interface LevelBatch {
  /** Upscaling of this level relative to the input: 2, 4, 8. */
  scale: number;
  height: number;
  width: number;
  data: Float32Array;
  /**
   * Where this output starts in the window, in LR pixels: an engine given `need` may return a region of
   * the window (at least `need`) rather than all of it. Absent: the whole window, from (0, 0).
   */
  origin?: { x: number; y: number } | undefined;
}

export interface SuperResBackend {
  readonly engine: EngineName;
  readonly config: ModelConfig;
  /** Intra-op threads in use (where the runtime exposes it). */
  readonly threads: number;
  /** The GPU it runs on (GPU engines only). */
  readonly adapter?: GpuAdapter | undefined;
  /** Wall time (ms) with a run in flight, where the engine counts it (the server's worker-thread engine). */
  readonly busyMs?: number;
  /**
   * Runs the generator on `n` normalised LR patches of `height` x `width` (micro-batching: one engine
   * call for all of them), packed row-major in `input` (length n*height*width).
   * Returns every level's output (2x, 4x, 8x for an 8x model), coarsest first.
   *
   * `need`: the LR rectangle of every window whose output the caller uses (a tile's core). The engine may
   * then skip the x2 cascade outside it (ort-backend.ts; most of the FLOPs are there), returning a region
   * that contains `need` and says where it starts (LevelBatch.origin); inside `need` the pixels equal the
   * whole window's. Engines that ignore it return the whole window.
   */
  run(input: Float32Array, n: number, height: number, width: number, need?: Rect): Promise<LevelBatch[]>;
  dispose(): Promise<void>;
}
