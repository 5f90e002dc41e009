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
import { splitFiles } from '../splits/split';
import { loadTrainImage, listImages, trainingBatch } from './data';
import type { ParamValues } from './gradients';
import { validate, validateBicubic } from './validate';
import { WorkerPool } from './worker-pool';
import { CodedError } from '../error-codes';
import { DEFAULT_BOX_SHARE } from '../degradation/random-degradation';

export type LossMode = 'full' | 'content' | 'adversarial';

/** What defines a run; saved in the checkpoint, so a resume continues the same run. */
export interface RunOptions {
  preset: TrainPreset;
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
  // The recipe (issue 11). Absent in runs made before it, which resume with the values in LEGACY_RECIPE.
  /** LR made by a degradation drawn per crop (models/degradation) instead of the box mean alone. */
  degrade?: boolean;
  /** With degrade: the share of crops whose LR stays exactly the box mean (absent: DEFAULT_BOX_SHARE, the rule before the option). */
  boxShare?: number;
  /** The share of crops taken from the training images at twice the pixel pitch (absent: none). */
  wideShare?: number;
  /** Weight of the pixel L1 added to the content loss at every level. */
  pixelL1?: number;
  /** Decay of the exponential moving average of the generator's weights (0: none). The EMA is what validates and ships. */
  ema?: number;
  /** Learning rate schedule: constant, or cosine from lr down to 1% of it over scheduleSteps, after lrWarmup linear steps. */
  schedule?: 'constant' | 'cosine';
  scheduleSteps?: number;
  lrWarmup?: number;
}

export type TrainPreset = 'lite' | 'paper' | 'body';

/** What a run made before the recipe options existed trained with. */
export const LEGACY_RECIPE = { degrade: false, pixelL1: 0, ema: 0, schedule: 'constant', scheduleSteps: 0, lrWarmup: 0 } as const;

/** Defaults of a new run. Their ablation and its status (the degradation has not yet won at equal steps): models/shipped/body/README.md. */
export const DEFAULT_RECIPE = { degrade: true, pixelL1: 1, ema: 0.999, schedule: 'cosine', lrWarmup: 200 } as const;

export type Recipe = Required<Pick<RunOptions, 'degrade' | 'pixelL1' | 'ema' | 'schedule' | 'scheduleSteps' | 'lrWarmup'>>;

/** The run's recipe, legacy values for runs that predate it. */
export function recipeOf(run: RunOptions): Recipe {
  return {
    degrade: run.degrade ?? LEGACY_RECIPE.degrade,
    pixelL1: run.pixelL1 ?? LEGACY_RECIPE.pixelL1,
    ema: run.ema ?? LEGACY_RECIPE.ema,
    schedule: run.schedule ?? LEGACY_RECIPE.schedule,
    scheduleSteps: run.scheduleSteps ?? LEGACY_RECIPE.scheduleSteps,
    lrWarmup: run.lrWarmup ?? LEGACY_RECIPE.lrWarmup,
  };
}

/** The learning rate at `step` (0-based) under the run's schedule. */
export function learningRate(base: number, r: Recipe, step: number): number {
  const warm = r.lrWarmup > 0 ? Math.min(1, (step + 1) / r.lrWarmup) : 1;
  if (r.schedule === 'constant' || r.scheduleSteps <= 0) return base * warm;
  const t = Math.min(step, r.scheduleSteps) / r.scheduleSteps;
  const floor = 0.01;
  return base * warm * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

export type InitFrom = NonNullable<Provenance['initFrom']> & { dir: string };

export interface TrainOptions extends Omit<RunOptions, 'warmup' | 'init'> {
  /** A split file (models/splits/): --data is then the data root, and the split names train and val files. */
  split?: string;
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
  const files = o.split ? await splitFiles(o.split, o.data, 'train') : await listImages(o.data);
  let config: ModelConfig;
  let params: ParamValues;
  let adamG: Adam, adamD: Adam;
  let state: TrainerState<RunOptions>;
  let ema: ParamValues | undefined;
  if (o.resume && o.init) throw new CodedError('SR_ERR_USAGE', '--init starts a new run from a model; --resume continues a run: use one');
  if (o.resume) {
    const c = await loadCheckpoint<RunOptions>(o.out, adamOpts);
    ({ config, params, adamG, adamD, state } = c);
    ema = c.ema;
    // The run's own learning rate, not this command line's.
    adamG.opts = adamD.opts = { ...PAPER_ADAM, lr: state.options.lr };
    log(`resuming ${o.out} at step ${state.step} (epoch ${state.epoch})`);
  } else {
    if (await fs.access(path.join(o.out, 'checkpoint')).then(() => true, () => false)) {
      throw new CodedError('SR_ERR_USAGE', `${o.out} already holds a training run: pass --resume to continue it, or choose another --out`);
    }
    config = runConfig(o);
    const init = initWeights([...generatorParams(config), ...discriminatorParams(config)], o.seed, config.leakySlope);
    params = Object.fromEntries([...init].map(([n, t]) => [n, t.data]));
    const from = o.init ? await startFrom(o.init, config, params) : undefined;
    if (from) log(`starting from ${from.dir} (${from.description})`);
    adamG = new Adam(adamOpts);
    adamD = new Adam(adamOpts);
    const run: RunOptions = { preset: o.preset, scale: o.scale, loss: o.loss, dpf: o.dpf, alpha: o.alpha, warmup: o.warmup ?? 0, batch: o.batch, crop: o.crop, lr: o.lr, seed: o.seed, stepsPerEpoch: o.stepsPerEpoch, ...(from ? { init: from } : {}),
      degrade: o.degrade ?? DEFAULT_RECIPE.degrade, ...(o.boxShare !== undefined ? { boxShare: o.boxShare } : {}), ...(o.wideShare ? { wideShare: o.wideShare } : {}), pixelL1: o.pixelL1 ?? DEFAULT_RECIPE.pixelL1, ema: o.ema ?? DEFAULT_RECIPE.ema,
      schedule: o.schedule ?? DEFAULT_RECIPE.schedule, scheduleSteps: o.scheduleSteps ?? o.steps, lrWarmup: o.lrWarmup ?? DEFAULT_RECIPE.lrWarmup,
    };
    state = { formatVersion: 1, options: run, step: 0, epoch: 0, rng: new Mulberry32(o.seed).state, adamG: 0, adamD: 0, best: null, history: [], wallSec: 0 };
  }
  const run = state.options;
  if (o.resume && o.warmup !== undefined && o.warmup !== run.warmup) {
    log(`warm-up changed from ${run.warmup} to ${o.warmup} steps at step ${state.step}`);
    (state.scheduleChanges ??= []).push({ step: state.step, warmup: { from: run.warmup, to: o.warmup } });
    run.warmup = o.warmup;
  }
  if (o.resume && o.scheduleSteps !== undefined && o.scheduleSteps !== run.scheduleSteps) {
    log(`learning rate schedule length changed from ${run.scheduleSteps} to ${o.scheduleSteps} steps at step ${state.step}`);
    (state.scheduleChanges ??= []).push({ step: state.step, scheduleSteps: { from: run.scheduleSteps ?? 0, to: o.scheduleSteps } });
    run.scheduleSteps = o.scheduleSteps;
  }
  const recipe = recipeOf(run);
  const workers = o.workers ?? defaultWorkers(run.batch, o.prefer ?? 'best');
  if (run.batch % workers !== 0) {
    throw new CodedError('SR_ERR_USAGE', `--batch ${run.batch} must be a multiple of --workers ${workers}`);
  }
  const specs = [...generatorParams(config), ...discriminatorParams(config)];
  const names = specs.map((s) => s.name);
  const shapes = new Map(specs.map((s) => [s.name, s.shape]));
  const gNames = generatorParams(config).map((s) => s.name);
  // The EMA starts as the weights themselves (a resumed run brings its own).
  if (recipe.ema > 0) ema ??= Object.fromEntries(gNames.map((n) => [n, params[n]!.slice()]));

  log(`loading ${files.length} training images from ${o.data}`);
  const images = [];
  for (const f of files) images.push(await loadTrainImage(f, run.scale));
  const wide = run.wideShare ? { images: [] as typeof images, share: run.wideShare } : undefined;
  if (wide) for (const f of files) wide.images.push(await loadTrainImage(f, run.scale, true));
  const small = images.filter((im) => im.width < run.crop || im.height < run.crop);
  if (small.length) throw new CodedError('SR_ERR_USAGE', `${small.map((i) => i.name).join(', ')} smaller than the ${run.crop}px crop`);
  const valFiles = o.val ?? (o.split ? await splitFiles(o.split, o.data, 'val') : undefined);
  const pairs = valFiles ? await loadEvalPairs(valFiles, run.scale) : [];
  // The second condition (blur + centre sampling + noise) checks robustness every epoch; the best
  // checkpoint is the one with the largest mean gain over bicubic across both conditions.
  const pairsBN = valFiles && run.scale === 8 ? await loadEvalPairs(valFiles, run.scale, 'blur-noise') : [];
  const pairsOS = valFiles && run.scale === 8 ? await loadEvalPairs(valFiles, run.scale, 'other-scope') : [];
  const bicubic = pairs.length ? await validateBicubic(pairs) : undefined;
  const bicubicBN = pairsBN.length ? await validateBicubic(pairsBN) : undefined;
  const bicubicOS = pairsOS.length ? await validateBicubic(pairsOS) : undefined;
  if (bicubic) log(`validation: ${pairs.length} images from ${typeof valFiles === 'string' ? valFiles : 'the split\'s val set'}; bicubic PSNR ${bicubic.psnr.toFixed(2)} dB, SSIM ${bicubic.ssim.toFixed(4)}${bicubicBN ? `; blur-noise: bicubic ${bicubicBN.psnr.toFixed(2)} dB, SSIM ${bicubicBN.ssim.toFixed(4)}` : ''}`);

  const pool = await WorkerPool.create(config, workers, o.prefer ?? 'best');
  log(`training ${config.name} ${run.scale}x (${run.loss} loss${run.loss === 'full' ? `, alpha ${run.alpha}, ${run.warmup} content-only warm-up steps` : ''}, DPF ${run.dpf ? 'on' : 'off'}; degradation ${recipe.degrade ? `random (${run.boxShare ?? DEFAULT_BOX_SHARE} box mean)` : 'box mean'}${run.wideShare ? `, ${run.wideShare} of crops at 2x pixel pitch` : ''}, pixel L1 ${recipe.pixelL1}, EMA ${recipe.ema || 'off'}, lr ${run.lr} ${recipe.schedule}${recipe.schedule === 'cosine' ? ` over ${recipe.scheduleSteps} steps` : ''}, warm-up ${recipe.lrWarmup}) on ${pool.flavour} with ${pool.size} worker(s), batch ${run.batch}, crop ${run.crop}`);
  const rng = new Mulberry32(0);
  rng.state = state.rng;
  const provenance = (what: string): Provenance => ({
    trained: true, created: new Date().toISOString(), steps: state.step, data: o.data,
    description: `${what}: ${config.name} ${run.scale}x, ${run.loss} loss${run.loss === 'full' ? ` (alpha ${run.alpha}${run.warmup ? `, the first ${Math.min(run.warmup, state.step)} steps content-only` : ''})` : ''}, ${state.step} steps of batch ${run.batch} on ${path.basename(path.resolve(o.data))}${run.init ? `, starting from a model of ${run.init.steps} steps` : ''}`,
    ...(o.command ? { command: o.command } : {}),
    ...(run.init ? { initFrom: withoutDir(run.init) } : {}),
  });
  const gWeights = () => toWeights(params, gNames, shapes);
  /** The weights that validate and ship: the generator's EMA when the run keeps one, the discriminator as is. */
  const shipValues = (): ParamValues => (ema ? { ...params, ...ema } : params);

  let epochLosses: Record<string, number> = {};
  let epochSteps = 0;
  let epochStart = performance.now();
  let wallMark = performance.now();
  try {
    while (state.step < o.steps) {
      if (o.signal?.aborted) break;
      const adversarial = run.loss === 'adversarial' || (run.loss === 'full' && state.step >= run.warmup);
      const { hr, lr } = trainingBatch(images, rng, run.crop, run.batch, run.scale, recipe.degrade, run.boxShare ?? DEFAULT_BOX_SHARE, wide);
      const losses: Record<string, number> = {};
      adamG.opts.lr = adamD.opts.lr = learningRate(run.lr, recipe, state.step);
      if (adversarial) {
        const d = await pool.run('d', params, hr, lr, run.batch, run.crop);
        adamD.step(params, averageGrads(d.map((r) => r.grads)));
        addMean(losses, d.map((r) => r.losses));
      }
      const g = await pool.run('g', params, hr, lr, run.batch, run.crop, { content: run.loss !== 'adversarial', adversarial, alpha: run.alpha, pixelL1: recipe.pixelL1 });
      adamG.step(params, averageGrads(g.map((r) => r.grads)));
      if (ema) updateEma(ema, params, recipe.ema, adamG.t);
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
          const shipped = toWeights(shipValues(), gNames, shapes);
          const v = await validate(config, shipped, pairs);
          record.psnr = v.psnr;
          record.ssim = v.ssim;
          let extra = '';
          if (pairsBN.length) {
            const bn = await validate(config, shipped, pairsBN);
            record.blurNoise = { psnr: bn.psnr, ssim: bn.ssim, bicubicPsnr: bicubicBN!.psnr, bicubicSsim: bicubicBN!.ssim };
            extra += `; blur-noise ${bn.psnr.toFixed(2)} dB (${signed(bn.psnr - bicubicBN!.psnr)}), SSIM ${bn.ssim.toFixed(4)} (bicubic ${bicubicBN!.ssim.toFixed(4)})`;
          }
          if (pairsOS.length) {
            const os = await validate(config, shipped, pairsOS);
            record.otherScope = { psnr: os.psnr, ssim: os.ssim, bicubicPsnr: bicubicOS!.psnr, bicubicSsim: bicubicOS!.ssim };
            extra += `; other-scope ${os.psnr.toFixed(2)} dB (${signed(os.psnr - bicubicOS!.psnr)}), SSIM ${os.ssim.toFixed(4)} (bicubic ${bicubicOS!.ssim.toFixed(4)})`;
          }
          if (ema) {
            // The raw weights too, so the EMA's worth is measured, not assumed.
            const raw = await validate(config, gWeights(), pairs);
            record.raw = { psnr: raw.psnr, ssim: raw.ssim };
            extra += `; raw weights ${raw.psnr.toFixed(2)} dB`;
          }
          const score = selectionScore(record);
          const better = !state.best || score > (state.best.score ?? state.best.psnr - record.bicubicPsnr);
          log(`epoch ${state.epoch} (step ${state.step}): val PSNR ${v.psnr.toFixed(2)} dB (bicubic ${bicubic!.psnr.toFixed(2)}, ${signed(v.psnr - bicubic!.psnr)}), SSIM ${v.ssim.toFixed(4)}${extra}, lr ${adamG.opts.lr.toExponential(2)}, ${sps.toFixed(3)} steps/s${better ? ' — best so far, saved' : ''}`);
          if (better) {
            state.best = { psnr: v.psnr, ssim: v.ssim, step: state.step, epoch: state.epoch, score };
            await saveModel(path.join(o.out, BEST_DIR), config, toWeights(shipValues(), names, shapes), provenance(`best validation (mean gain over bicubic ${signed(score)} dB across conditions; box ${v.psnr.toFixed(2)} dB) at step ${state.step}`));
          }
        } else {
          log(`epoch ${state.epoch} (step ${state.step}): losses ${fmt(record.losses)}, ${sps.toFixed(3)} steps/s (no --val: no validation)`);
        }
        state.wallSec += (performance.now() - wallMark) / 1000;
        wallMark = performance.now();
        record.wallSec = state.wallSec;
        state.history.push(record);
        await saveCheckpoint(o.out, { config, params, adamG, adamD, state, ...(ema ? { ema } : {}) }, toWeights(params, names, shapes), provenance('checkpoint'));
        await fs.writeFile(path.join(o.out, 'history.json'), JSON.stringify(state.history, null, 1) + '\n');
        epochLosses = {};
        epochSteps = 0;
        epochStart = performance.now();
      }
    }
    if (o.signal?.aborted) {
      state.wallSec += (performance.now() - wallMark) / 1000;
      await saveCheckpoint(o.out, { config, params, adamG, adamD, state, ...(ema ? { ema } : {}) }, toWeights(params, names, shapes), provenance('checkpoint'));
      throw new CodedError('SR_ERR_INTERRUPTED', `stopped at step ${state.step}; checkpoint saved in ${o.out} (continue with --resume)`);
    }
    if (!pairs.length) await saveModel(path.join(o.out, BEST_DIR), config, toWeights(shipValues(), names, shapes), provenance('last step (no validation set)'));
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
    throw new CodedError('SR_ERR_USAGE', `--init ${dir} is a different architecture (${describe(m.config)}) from this run's (${describe(config)})`);
  }
  for (const [name, t] of m.weights) {
    const into = params[name];
    if (!into) continue;
    if (into.length !== t.data.length) throw new CodedError('SR_ERR_USAGE', `--init ${dir}: tensor ${name} has ${t.data.length} values, the run needs ${into.length}`);
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

/** ema = d * ema + (1 - d) * params, with the decay ramped up over the first steps (so early EMAs are not mostly the initialisation). */
export function updateEma(ema: ParamValues, params: ParamValues, decay: number, t: number): void {
  const d = Math.min(decay, (1 + t) / (10 + t));
  for (const [name, e] of Object.entries(ema)) {
    const p = params[name]!;
    for (let i = 0; i < e.length; i++) e[i] = d * e[i]! + (1 - d) * p[i]!;
  }
}

/** What picks the best checkpoint: the mean PSNR gain over bicubic across the validation conditions. */
export function selectionScore(r: EpochRecord): number {
  const gains = [r.psnr - r.bicubicPsnr];
  if (r.blurNoise) gains.push(r.blurNoise.psnr - r.blurNoise.bicubicPsnr);
  return gains.reduce((a, b) => a + b, 0) / gains.length;
}

const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;

export function fmt(losses: Record<string, number>): string {
  return Object.entries(losses).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ');
}
