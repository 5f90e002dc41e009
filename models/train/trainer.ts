// The training loop of the paper: Adam (lr 1e-4, beta1 0.9), one discriminator step then one generator
// step, generator loss = adversarial + alpha * DPF content loss, with an optional content-only warm-up.
// Data parallel over worker threads (gradients averaged), validation every epoch, best model kept,
// resumable checkpoints, deterministic for a given seed and worker count.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PRESETS, parseConfig, type ModelConfig, type Scale } from '../config';
import { loadEvalPairs } from '../eval/pairs';
import { discriminatorParams, generatorParams, initWeights, Mulberry32 } from '../params';
import { tfjsNativeInstalled } from '../tfjs/runtime';
import { loadModel, saveModel, type Provenance } from '../weights-file';
import { Adam, averageGrads, PAPER_ADAM } from './adam';
import { loadCheckpoint, saveCheckpoint, toWeights, type EpochRecord, type TrainerState } from './checkpoint';
import { loadTrainImage, listImages, randomCrops } from './data';
import type { ParamValues } from './gradients';
import { validate, validateBicubic } from './validate';
import { WorkerPool } from './worker-pool';

export type LossMode = 'full' | 'content' | 'adversarial';

/** What defines a run; saved in the checkpoint, so a resume continues the same run. */
export interface RunOptions {
  preset: 'lite' | 'paper';
  scale: Scale;
  loss: LossMode;
  dpf: boolean;
  alpha: number;
  /** Content-only steps before the adversarial terms start (full mode). */
  warmup: number;
  batch: number;
  /** HR crop side (256 for 8x, as the paper). */
  crop: number;
  lr: number;
  seed: number;
  stepsPerEpoch: number;
  /** The model the run started from (--init) instead of the seeded initialisation; the optimiser starts fresh. */
  init?: InitFrom;
}

export type InitFrom = NonNullable<Provenance['initFrom']> & { dir: string };

export interface TrainOptions extends Omit<RunOptions, 'warmup' | 'init'> {
  /** A model directory to start from (same architecture), e.g. the best/ of a content-only run. */
  init?: string;
  /**
   * Content-only warm-up steps (default 0). A resumed run keeps its own options, except this one when
   * given: the schedule may be changed mid-run, and the change is recorded in the run's history.
   */
  warmup?: number;
  data: string;
  val?: string;
  out: string;
  /** Total steps to reach (a resume may raise it). */
  steps: number;
  resume: boolean;
  /** Gradient worker threads; default: cores (up to the batch, dividing it) on wasm, 1 on native tfjs. */
  workers?: number;
  prefer?: 'best' | 'wasm' | 'cpu';
  /** Kept in the model's provenance. */
  command?: string;
  log?: (line: string) => void;
  onStep?: (p: StepProgress) => void;
  signal?: AbortSignal;
}

export interface StepProgress {
  step: number;
  total: number;
  epoch: number;
  losses: Record<string, number>;
  stepsPerSec: number;
  adversarial: boolean;
}

export interface TrainResult {
  out: string;
  steps: number;
  best: TrainerState<RunOptions>['best'];
  history: EpochRecord[];
  flavour: string;
}

export const BEST_DIR = 'best';

export function runConfig(o: Pick<RunOptions, 'preset' | 'scale' | 'dpf'>): ModelConfig {
  const base = PRESETS[o.preset](o.scale);
  return parseConfig({ ...base, dpf: o.dpf, name: o.dpf ? base.name : `${base.name}-nodpf` });
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const adamOpts = { ...PAPER_ADAM, lr: o.lr };
  const files = await listImages(o.data);
  let config: ModelConfig;
  let params: ParamValues;
  let adamG: Adam, adamD: Adam;
  let state: TrainerState<RunOptions>;
  if (o.resume && o.init) throw Object.assign(new Error('--init starts a new run from a model; --resume continues a run: use one'), { code: 'SR_ERR_USAGE' });
  if (o.resume) {
    const c = await loadCheckpoint<RunOptions>(o.out, adamOpts);
    ({ config, params, adamG, adamD, state } = c);
    // The run's own learning rate, not this command line's.
    adamG.opts = adamD.opts = { ...PAPER_ADAM, lr: state.options.lr };
    log(`resuming ${o.out} at step ${state.step} (epoch ${state.epoch})`);
  } else {
    if (await fs.access(path.join(o.out, 'checkpoint')).then(() => true, () => false)) {
      throw Object.assign(new Error(`${o.out} already holds a training run: pass --resume to continue it, or choose another --out`), { code: 'SR_ERR_USAGE' });
    }
    config = runConfig(o);
    const init = initWeights([...generatorParams(config), ...discriminatorParams(config)], o.seed, config.leakySlope);
    params = Object.fromEntries([...init].map(([n, t]) => [n, t.data]));
    const from = o.init ? await startFrom(o.init, config, params) : undefined;
    if (from) log(`starting from ${from.dir} (${from.description})`);
    adamG = new Adam(adamOpts);
    adamD = new Adam(adamOpts);
    const run: RunOptions = { preset: o.preset, scale: o.scale, loss: o.loss, dpf: o.dpf, alpha: o.alpha, warmup: o.warmup ?? 0, batch: o.batch, crop: o.crop, lr: o.lr, seed: o.seed, stepsPerEpoch: o.stepsPerEpoch, ...(from ? { init: from } : {}) };
    state = { formatVersion: 1, options: run, step: 0, epoch: 0, rng: new Mulberry32(o.seed).state, adamG: 0, adamD: 0, best: null, history: [], wallSec: 0 };
  }
  const run = state.options;
  if (o.resume && o.warmup !== undefined && o.warmup !== run.warmup) {
    log(`warm-up changed from ${run.warmup} to ${o.warmup} steps at step ${state.step}`);
    (state.scheduleChanges ??= []).push({ step: state.step, warmup: { from: run.warmup, to: o.warmup } });
    run.warmup = o.warmup;
  }
  const workers = o.workers ?? defaultWorkers(run.batch, o.prefer ?? 'best');
  if (run.batch % workers !== 0) {
    throw Object.assign(new Error(`--batch ${run.batch} must be a multiple of --workers ${workers}`), { code: 'SR_ERR_USAGE' });
  }
  const specs = [...generatorParams(config), ...discriminatorParams(config)];
  const names = specs.map((s) => s.name);
  const shapes = new Map(specs.map((s) => [s.name, s.shape]));
  const gNames = generatorParams(config).map((s) => s.name);

  log(`loading ${files.length} training images from ${o.data}`);
  const images = [];
  for (const f of files) images.push(await loadTrainImage(f, run.scale));
  const small = images.filter((im) => im.width < run.crop || im.height < run.crop);
  if (small.length) throw Object.assign(new Error(`${small.map((i) => i.name).join(', ')} smaller than the ${run.crop}px crop`), { code: 'SR_ERR_USAGE' });
  const pairs = o.val ? await loadEvalPairs(o.val, run.scale) : [];
  const bicubic = pairs.length ? await validateBicubic(pairs) : undefined;
  if (bicubic) log(`validation: ${pairs.length} images from ${o.val}; bicubic PSNR ${bicubic.psnr.toFixed(2)} dB, SSIM ${bicubic.ssim.toFixed(4)}`);

  const pool = await WorkerPool.create(config, workers, o.prefer ?? 'best');
  log(`training ${config.name} ${run.scale}x (${run.loss} loss${run.loss === 'full' ? `, alpha ${run.alpha}, ${run.warmup} content-only warm-up steps` : ''}, DPF ${run.dpf ? 'on' : 'off'}) on ${pool.flavour} with ${pool.size} worker(s), batch ${run.batch}, crop ${run.crop}`);
  const rng = new Mulberry32(0);
  rng.state = state.rng;
  const provenance = (what: string): Provenance => ({
    trained: true, created: new Date().toISOString(), steps: state.step, data: o.data,
    description: `${what}: ${config.name} ${run.scale}x, ${run.loss} loss${run.loss === 'full' ? ` (alpha ${run.alpha}${run.warmup ? `, the first ${Math.min(run.warmup, state.step)} steps content-only` : ''})` : ''}, ${state.step} steps of batch ${run.batch} on ${path.basename(path.resolve(o.data))}${run.init ? `, starting from a model of ${run.init.steps} steps` : ''}`,
    ...(o.command ? { command: o.command } : {}),
    ...(run.init ? { initFrom: withoutDir(run.init) } : {}),
  });
  const gWeights = () => toWeights(params, gNames, shapes);

  let epochLosses: Record<string, number> = {};
  let epochSteps = 0;
  let epochStart = performance.now();
  let wallMark = performance.now();
  try {
    while (state.step < o.steps) {
      if (o.signal?.aborted) break;
      const adversarial = run.loss === 'adversarial' || (run.loss === 'full' && state.step >= run.warmup);
      const hr = randomCrops(images, rng, run.crop, run.batch);
      const losses: Record<string, number> = {};
      if (adversarial) {
        const d = await pool.run('d', params, hr, run.batch, run.crop);
        adamD.step(params, averageGrads(d.map((r) => r.grads)));
        addMean(losses, d.map((r) => r.losses));
      }
      const g = await pool.run('g', params, hr, run.batch, run.crop, { content: run.loss !== 'adversarial', adversarial, alpha: run.alpha });
      adamG.step(params, averageGrads(g.map((r) => r.grads)));
      addMean(losses, g.map((r) => r.losses));
      for (const [k, v] of Object.entries(losses)) epochLosses[k] = (epochLosses[k] ?? 0) + v;
      state.step++;
      epochSteps++;
      state.rng = rng.state;
      const sps = epochSteps / ((performance.now() - epochStart) / 1000);
      o.onStep?.({ step: state.step, total: o.steps, epoch: state.epoch, losses, stepsPerSec: sps, adversarial });
      if (state.step % run.stepsPerEpoch === 0 || state.step === o.steps) {
        state.epoch++;
        const record: EpochRecord = {
          epoch: state.epoch, step: state.step, psnr: NaN, ssim: NaN, bicubicPsnr: bicubic?.psnr ?? NaN,
          losses: Object.fromEntries(Object.entries(epochLosses).map(([k, v]) => [k, v / epochSteps])),
          stepsPerSec: sps, adversarial, wallSec: 0,
        };
        if (pairs.length) {
          const v = await validate(config, gWeights(), pairs);
          record.psnr = v.psnr;
          record.ssim = v.ssim;
          const better = !state.best || v.psnr > state.best.psnr;
          log(`epoch ${state.epoch} (step ${state.step}): val PSNR ${v.psnr.toFixed(2)} dB (bicubic ${bicubic!.psnr.toFixed(2)}, ${(v.psnr - bicubic!.psnr >= 0 ? '+' : '')}${(v.psnr - bicubic!.psnr).toFixed(2)}), SSIM ${v.ssim.toFixed(4)}, ${sps.toFixed(3)} steps/s${better ? ' — best so far, saved' : ''}`);
          if (better) {
            state.best = { psnr: v.psnr, ssim: v.ssim, step: state.step, epoch: state.epoch };
            await saveModel(path.join(o.out, BEST_DIR), config, toWeights(params, names, shapes), provenance(`best validation PSNR ${v.psnr.toFixed(2)} dB at step ${state.step}`));
          }
        } else {
          log(`epoch ${state.epoch} (step ${state.step}): losses ${fmt(record.losses)}, ${sps.toFixed(3)} steps/s (no --val: no validation)`);
        }
        state.wallSec += (performance.now() - wallMark) / 1000;
        wallMark = performance.now();
        record.wallSec = state.wallSec;
        state.history.push(record);
        await saveCheckpoint(o.out, { config, params, adamG, adamD, state }, toWeights(params, names, shapes), provenance('checkpoint'));
        await fs.writeFile(path.join(o.out, 'history.json'), JSON.stringify(state.history, null, 1) + '\n');
        epochLosses = {};
        epochSteps = 0;
        epochStart = performance.now();
      }
    }
    if (o.signal?.aborted) {
      state.wallSec += (performance.now() - wallMark) / 1000;
      await saveCheckpoint(o.out, { config, params, adamG, adamD, state }, toWeights(params, names, shapes), provenance('checkpoint'));
      throw Object.assign(new Error(`stopped at step ${state.step}; checkpoint saved in ${o.out} (continue with --resume)`), { code: 'SR_ERR_INTERRUPTED' });
    }
    if (!pairs.length) await saveModel(path.join(o.out, BEST_DIR), config, toWeights(params, names, shapes), provenance('last step (no validation set)'));
  } finally {
    await pool.close();
  }
  return { out: o.out, steps: state.step, best: state.best, history: state.history, flavour: pool.flavour };
}

/** The lineage as the provenance keeps it: where the model was on this machine does not travel with it. */
function withoutDir({ dir: _dir, ...initFrom }: InitFrom): NonNullable<Provenance['initFrom']> {
  return initFrom;
}

/**
 * Overwrites the seeded `params` with a model's tensors (--init). The generator must be there with the
 * run's architecture; the discriminator is taken when present (a training run's model holds it), else it
 * keeps its seeded initialisation.
 */
async function startFrom(dir: string, config: ModelConfig, params: ParamValues): Promise<InitFrom> {
  const m = await loadModel(dir);
  const arch = (c: ModelConfig) => JSON.stringify({ ...c, name: '' });
  const describe = (c: ModelConfig) => `${c.name}: widths ${c.widths.join('/')}, ${c.scale}x, DPF ${c.dpf ? 'on' : 'off'}`;
  if (arch(m.config) !== arch(config)) {
    throw Object.assign(new Error(`--init ${dir} is a different architecture (${describe(m.config)}) from this run's (${describe(config)})`), { code: 'SR_ERR_USAGE' });
  }
  for (const [name, t] of m.weights) {
    const into = params[name];
    if (!into) continue;
    if (into.length !== t.data.length) throw Object.assign(new Error(`--init ${dir}: tensor ${name} has ${t.data.length} values, the run needs ${into.length}`), { code: 'SR_ERR_USAGE' });
    into.set(t.data);
  }
  const p = m.provenance;
  return { dir, sha256: m.sha256, description: p.description, steps: p.steps ?? 0, ...(p.command ? { command: p.command } : {}) };
}

/**
 * wasm runs one thread per process, so the batch is split over worker threads (one per core that divides
 * the batch); native tfjs is multi-threaded already and keeps one.
 */
function defaultWorkers(batch: number, prefer: 'best' | 'wasm' | 'cpu'): number {
  if (prefer === 'best' && (tfjsNativeInstalled('@tensorflow/tfjs-node-gpu') || tfjsNativeInstalled('@tensorflow/tfjs-node'))) return 1;
  for (let k = Math.min(os.availableParallelism(), batch); k > 1; k--) if (batch % k === 0) return k;
  return 1;
}

/** Adds the mean over workers of each loss to `into`. */
function addMean(into: Record<string, number>, parts: Record<string, number>[]): void {
  for (const k of Object.keys(parts[0] ?? {})) into[k] = parts.reduce((a, p) => a + p[k]!, 0) / parts.length;
}

export function fmt(losses: Record<string, number>): string {
  return Object.entries(losses).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ');
}
