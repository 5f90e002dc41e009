// Chooses and starts the engine, explicitly. By default ('auto'): ORT WebGPU on a hardware GPU, else the
// CPU's best, ORT int8 (ORT CPU float32, said in one line, when the model has no valid int8 calibration).
// ORT WebGPU or CUDA when asked for by name (an error if it cannot start); tfjs (tfjs-node-gpu / tfjs-node
// when installed, else wasm) when asked for.
import type { ModelConfig } from '../config';
import type { Weights } from '../params';
import { DEFAULT_ENGINE, type EngineChoice, type SuperResBackend } from './backend';
import type { CalibrationError, Int8Calibration } from './int8-calibration-file';
import { describeAdapter, hardwareAdapter, probeGpuAdapters } from './gpu-adapter';
import { OrtBackend } from './ort-backend';
import { TfjsBackend } from './tfjs-backend';

export interface EngineOptions {
  engine?: EngineChoice;
  threads?: number;
  /** The model's int8 calibration (LoadedModel.int8): needed by 'ort-int8'. */
  int8?: Int8Calibration | CalibrationError | undefined;
  /** Where the choice is reported (stderr by default). */
  log?: (line: string) => void;
}

export async function createEngine(config: ModelConfig, weights: Weights, opts: EngineOptions = {}): Promise<SuperResBackend> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const choice = opts.engine ?? DEFAULT_ENGINE;
  const ortOpts = opts.threads ? { threads: opts.threads } : {};
  let backend: SuperResBackend;
  if (choice === 'tfjs') backend = await TfjsBackend.create(config, weights, 'best');
  else if (choice === 'auto') backend = await createAuto(config, weights, ortOpts, opts.int8, !opts.engine, log);
  else backend = await OrtBackend.create(config, weights, { engine: choice, ...ortOpts, ...(opts.int8 ? { int8: opts.int8 } : {}) });
  const where = backend.adapter ? `on ${describeAdapter(backend.adapter)}` : `${backend.threads} thread(s)`;
  log(`engine: ${backend.engine}, ${where}${opts.engine ? '' : ' (default)'}`);
  return backend;
}

/**
 * 'auto': WebGPU only on a hardware adapter (a software one such as lavapipe is ~40x slower than the CPU
 * engine), else the CPU's best. Every fallback is logged, never silent; an explicit `--engine auto` gives
 * the missing GPU its code, while the default on a machine without one (the usual case) just says so.
 */
async function createAuto(
  config: ModelConfig,
  weights: Weights,
  ortOpts: { threads?: number },
  int8: EngineOptions['int8'],
  byDefault: boolean,
  log: (l: string) => void,
): Promise<SuperResBackend> {
  const probe = probeGpuAdapters();
  const gpu = hardwareAdapter(probe);
  if (!gpu) {
    const why = probe.adapters.length ? `only software adapters (${probe.adapters.map(describeAdapter).join(', ')})` : probe.reason;
    log(`engine auto: ${byDefault ? '' : 'SR_ERR_ENGINE_UNAVAILABLE: '}no hardware GPU for ort-webgpu (${why}); using the CPU`);
    return createCpu(config, weights, ortOpts, int8, log);
  }
  try {
    return await OrtBackend.create(config, weights, { engine: 'ort-webgpu', ...ortOpts });
  } catch (e) {
    const err = e as Error & { code?: string };
    if (!err.code) throw e;
    log(`engine auto: ${err.code}: ${err.message}; using the CPU`);
    return createCpu(config, weights, ortOpts, int8, log);
  }
}

/** What 'auto' starts for a model: one rule for createEngine and for `phasesr info`, which reports it. */
export function autoEngine(hardwareGpu: boolean, int8: EngineOptions['int8']): 'ort-webgpu' | 'ort-int8' | 'ort-cpu' {
  if (hardwareGpu) return 'ort-webgpu';
  return int8 && !(int8 instanceof Error) ? 'ort-int8' : 'ort-cpu';
}

/**
 * The CPU's best: ort-int8, which won on speed and quality (docs/benchmarks/int8.md), for a model with a
 * valid calibration; else ort-cpu (float32) with one SR_ERR_MODEL_CALIBRATION line, so that every model
 * starts (tests' tiny models and fresh training runs have no calibration).
 */
async function createCpu(
  config: ModelConfig,
  weights: Weights,
  ortOpts: { threads?: number },
  int8: EngineOptions['int8'],
  log: (l: string) => void,
): Promise<SuperResBackend> {
  if (autoEngine(false, int8) === 'ort-int8') return OrtBackend.create(config, weights, { engine: 'ort-int8', ...ortOpts, int8 });
  const why =
    int8 instanceof Error
      ? int8.message
      : 'no int8 calibration given (int8-calibration.json beside model.json; phasesr calibrate makes it)';
  log(`engine: SR_ERR_MODEL_CALIBRATION: ${why}; using ort-cpu (float32)`);
  return OrtBackend.create(config, weights, { engine: 'ort-cpu', ...ortOpts });
}
