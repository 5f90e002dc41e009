// Resumable training state in OUT/checkpoint/: the model (generator + discriminator, the usual model
// directory), the Adam moments, and trainer-state.json (step, RNG state, history, options). Written to a
// temporary directory and swapped in by renames, so a crash at any moment leaves a whole checkpoint.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ModelConfig } from '../config';
import type { Weights } from '../params';
import { loadModel, saveModel, type Provenance } from '../weights-file';
import { Adam } from './adam';
import type { ParamValues } from './gradients';
import { CodedError } from '../error-codes';

export const CHECKPOINT_DIR = 'checkpoint';
const STATE_JSON = 'trainer-state.json';
const OPTIMIZER_BIN = 'optimizer.bin';
const EMA_BIN = 'ema.bin';

export interface EpochRecord {
  epoch: number;
  step: number;
  /** Validation means at the finest level (model, and bicubic on the same LR for reference). */
  psnr: number;
  ssim: number;
  bicubicPsnr: number;
  /** Mean training losses over the epoch's steps. */
  losses: Record<string, number>;
  stepsPerSec: number;
  adversarial: boolean;
  wallSec: number;
  /** The second validation condition (models/degradation/conditions.ts), when validated. */
  blurNoise?: { psnr: number; ssim: number; bicubicPsnr: number; bicubicSsim: number };
  /** The 'other-scope' condition on val (pixels twice as wide, 8-bit HR). Runs before otherScopeAt recorded it without choosing by it. */
  otherScope?: { psnr: number; ssim: number; bicubicPsnr: number; bicubicSsim: number };
  /** 'other-scope' at the other validated pitches (run-setup.ts VAL_SCOPE_PITCHES after the first). */
  otherScopeAt?: { pitch: number; psnr: number; ssim: number; bicubicPsnr: number; bicubicSsim: number }[];
  /** The raw (non-EMA) weights' box-condition scores, when the run keeps an EMA. */
  raw?: { psnr: number; ssim: number };
}

export interface TrainerState<O> {
  formatVersion: 1;
  options: O;
  step: number;
  epoch: number;
  rng: number;
  adamG: number;
  adamD: number;
  /**
   * score: the selection score (trainer.ts selectionScore), over `conditions` validation conditions. Runs
   * before the score chose by PSNR; runs before `conditions` by box and blur-noise only.
   */
  best: { psnr: number; ssim: number; step: number; epoch: number; score?: number; conditions?: number } | null;
  history: EpochRecord[];
  wallSec: number;
  /** Schedule options changed on a resume (`--warmup`), in order. */
  scheduleChanges?: { step: number; warmup?: { from: number; to: number }; scheduleSteps?: { from: number; to: number } }[];
}

export interface Checkpoint<O> {
  config: ModelConfig;
  params: ParamValues;
  adamG: Adam;
  adamD: Adam;
  state: TrainerState<O>;
  /** The generator weights' moving average (runs with an EMA). */
  ema?: ParamValues;
}

export function toWeights(params: ParamValues, names: string[], shapes: Map<string, number[]>): Weights {
  const w: Weights = new Map();
  for (const n of names) w.set(n, { shape: shapes.get(n)!, data: params[n]! });
  return w;
}

export async function saveCheckpoint<O>(out: string, c: Checkpoint<O>, weights: Weights, provenance: Provenance): Promise<void> {
  const dir = path.join(out, CHECKPOINT_DIR);
  const tmp = `${dir}.tmp`;
  const old = `${dir}.old`;
  await fs.rm(tmp, { recursive: true, force: true });
  await saveModel(tmp, c.config, weights, provenance);
  // Adam moments in weight order, m then v for each (zeros before the first update).
  const parts: Float32Array[] = [];
  for (const adam of [c.adamG, c.adamD]) {
    for (const [name, t] of weights) {
      if (name.startsWith('g.') !== (adam === c.adamG)) continue;
      parts.push(adam.m[name] ?? new Float32Array(t.data.length), adam.v[name] ?? new Float32Array(t.data.length));
    }
  }
  const bytes = Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
  await fs.writeFile(path.join(tmp, OPTIMIZER_BIN), bytes);
  if (c.ema) {
    // The EMA in weight order (generator tensors only).
    const ema = [...weights.keys()].filter((n) => n.startsWith('g.')).map((n) => c.ema![n]!);
    await fs.writeFile(path.join(tmp, EMA_BIN), Buffer.concat(ema.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
  }
  await fs.writeFile(path.join(tmp, STATE_JSON), `${JSON.stringify({ ...c.state, adamG: c.adamG.t, adamD: c.adamD.t }, null, 1)}\n`);
  await fs.rm(old, { recursive: true, force: true });
  await fs.rename(dir, old).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  await fs.rename(tmp, dir);
  await fs.rm(old, { recursive: true, force: true });
}

/** Loads OUT/checkpoint (or the previous one, if a crash came between the two renames). */
export async function loadCheckpoint<O>(out: string, adamOpts: Adam['opts']): Promise<Checkpoint<O>> {
  let dir = path.join(out, CHECKPOINT_DIR);
  try {
    await fs.access(path.join(dir, STATE_JSON));
  } catch {
    dir = `${dir}.old`;
    await fs.access(path.join(dir, STATE_JSON)).catch(() => {
      throw new CodedError('SR_ERR_USAGE', `nothing to resume: no checkpoint in ${out}`);
    });
  }
  const model = await loadModel(dir);
  const state = JSON.parse(await fs.readFile(path.join(dir, STATE_JSON), 'utf8')) as TrainerState<O>;
  const blob = await fs.readFile(path.join(dir, OPTIMIZER_BIN));
  const floats = new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
  const params: ParamValues = {};
  for (const [n, t] of model.weights) params[n] = t.data;
  const adamG = new Adam(adamOpts);
  const adamD = new Adam(adamOpts);
  adamG.t = state.adamG;
  adamD.t = state.adamD;
  let off = 0;
  for (const adam of [adamG, adamD]) {
    for (const [name, t] of model.weights) {
      if (name.startsWith('g.') !== (adam === adamG)) continue;
      const n = t.data.length;
      adam.m[name] = floats.slice(off, off + n);
      adam.v[name] = floats.slice(off + n, off + 2 * n);
      off += 2 * n;
    }
  }
  if (off !== floats.length)
    throw new Error(`optimizer state in ${dir} does not match the model (${floats.length} values, expected ${off})`);
  const emaBlob = await fs.readFile(path.join(dir, EMA_BIN)).catch(() => undefined);
  let ema: ParamValues | undefined;
  if (emaBlob) {
    const e = new Float32Array(emaBlob.buffer.slice(emaBlob.byteOffset, emaBlob.byteOffset + emaBlob.byteLength));
    ema = {};
    let at = 0;
    for (const [name, t] of model.weights) {
      if (!name.startsWith('g.')) continue;
      ema[name] = e.slice(at, at + t.data.length);
      at += t.data.length;
    }
    if (at !== e.length) throw new Error(`EMA weights in ${dir} do not match the model (${e.length} values, expected ${at})`);
  }
  return { config: model.config, params, adamG, adamD, state, ...(ema ? { ema } : {}) };
}
