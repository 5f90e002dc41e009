// The training loop of the paper: Adam (lr 1e-4, beta1 0.9), one discriminator step then one generator
// step, generator loss = adversarial + alpha * DPF content loss, with an optional content-only warm-up.
// Data parallel over worker threads (gradients averaged), validation every epoch, best model kept,
// resumable checkpoints, deterministic for a given seed and worker count. The steps before the loop are in
// run-setup.ts, what a run is in run-options.ts.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ModelConfig } from '../config';
import { LEGACY_BOX_SHARE } from '../degradation/random-degradation';
import { CodedError } from '../error-codes';
import { discriminatorParams, generatorParams, Mulberry32 } from '../params';
import { splitFiles } from '../splits/split';
import { saveModel, type Provenance } from '../weights-file';
import { averageGrads } from './adam';
import { saveCheckpoint, toWeights, type Checkpoint, type EpochRecord, type TrainerState } from './checkpoint';
import { listImages, trainingBatch } from './data';
import type { ParamValues } from './gradients';
import { LEGACY_WIDE_PITCHES, learningRate, recipeOf, type Recipe, type RunOptions, type TrainOptions } from './run-options';
import { defaultWorkers, loadTrainingData, openRun, trainingFlavour, withoutDir, type TrainingData } from './run-setup';
import { validate } from './validate';
import { WorkerPool } from './worker-pool';

export * from './run-options';

export interface TrainResult {
  out: string;
  steps: number;
  best: TrainerState<RunOptions>['best'];
  history: EpochRecord[];
  flavour: string;
}

export const BEST_DIR = 'best';

export async function train(o: TrainOptions): Promise<TrainResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const files = o.split ? await splitFiles(o.split, o.data, 'train') : await listImages(o.data);
  const c = await openRun(o, log);
  const run = c.state.options;
  const recipe = recipeOf(run);
  const workers = o.workers ?? defaultWorkers(run.batch, await trainingFlavour(o.prefer ?? 'best'));
  if (run.batch % workers !== 0) {
    throw new CodedError('SR_ERR_USAGE', `--batch ${run.batch} must be a multiple of --workers ${workers}`);
  }
  const layout = paramLayout(c.config);
  // The EMA starts as the weights themselves (a resumed run brings its own).
  if (recipe.ema > 0) c.ema ??= Object.fromEntries(layout.gNames.map((n) => [n, c.params[n]!.slice()]));
  const data = await loadTrainingData(o, run, files, log);
  const pool = await WorkerPool.create(c.config, workers, o.prefer ?? 'best');
  log(describeRun(c.config, run, recipe, pool));
  const t: Training = { o, log, c, run, recipe, layout, data, pool, rng: new Mulberry32(0), wallMark: performance.now() };
  t.rng.state = c.state.rng;

  let tally = newTally();
  try {
    while (c.state.step < o.steps) {
      if (o.signal?.aborted) break;
      const { losses, adversarial } = await trainStep(t);
      for (const [k, v] of Object.entries(losses)) tally.losses[k] = (tally.losses[k] ?? 0) + v;
      c.state.step++;
      tally.steps++;
      c.state.rng = t.rng.state;
      const sps = tally.steps / ((performance.now() - tally.start) / 1000);
      o.onStep?.({ step: c.state.step, total: o.steps, epoch: c.state.epoch, losses, stepsPerSec: sps, adversarial });
      if (c.state.step % run.stepsPerEpoch === 0 || c.state.step === o.steps) {
        await endEpoch(t, tally, sps, adversarial);
        tally = newTally();
      }
    }
    if (o.signal?.aborted) {
      c.state.wallSec += (performance.now() - t.wallMark) / 1000;
      await saveRunCheckpoint(t);
      throw new CodedError('SR_ERR_INTERRUPTED', `stopped at step ${c.state.step}; checkpoint saved in ${o.out} (continue with --resume)`);
    }
    if (!data.pairs.length)
      await saveModel(
        path.join(o.out, BEST_DIR),
        c.config,
        toWeights(shipValues(t), layout.names, layout.shapes),
        provenance(t, 'last step (no validation set)'),
      );
  } finally {
    await pool.close();
  }
  return { out: o.out, steps: c.state.step, best: c.state.best, history: c.state.history, flavour: pool.flavour };
}

/** Everything one run's steps share. */
interface Training {
  o: TrainOptions;
  log: (line: string) => void;
  /** The run's weights, optimisers, state and EMA: what a checkpoint saves. */
  c: Checkpoint<RunOptions>;
  run: RunOptions;
  recipe: Recipe;
  layout: ParamLayout;
  data: TrainingData;
  pool: WorkerPool;
  /** Draws the crops and degradations; its state is saved with every checkpoint. */
  rng: Mulberry32;
  /** When the wall time was last added to the state. */
  wallMark: number;
}

/** Parameter names (all, and the generator's) and shapes, in the order the weights files keep them. */
interface ParamLayout {
  names: string[];
  gNames: string[];
  shapes: Map<string, number[]>;
}

function paramLayout(config: ModelConfig): ParamLayout {
  const specs = [...generatorParams(config), ...discriminatorParams(config)];
  return {
    names: specs.map((s) => s.name),
    gNames: generatorParams(config).map((s) => s.name),
    shapes: new Map(specs.map((s) => [s.name, s.shape])),
  };
}

/** The losses, steps and start time of the epoch under way. */
interface EpochTally {
  losses: Record<string, number>;
  steps: number;
  start: number;
}

function newTally(): EpochTally {
  return { losses: {}, steps: 0, start: performance.now() };
}

/** The run's box share; a run that recorded none predates the option and keeps the rule it started with. */
const boxShareOf = (run: RunOptions): number => run.boxShare ?? LEGACY_BOX_SHARE;

function describeRun(config: ModelConfig, run: RunOptions, recipe: Recipe, pool: WorkerPool): string {
  return (
    `training ${config.name} ${run.scale}x (${run.loss} ` +
    `loss${
      run.loss === 'full' ? `, alpha ${run.alpha}, ${run.warmup} content-only warm-up ` + `steps` : ''
    }, DPF ${run.dpf ? 'on' : 'off'}; ` +
    `degradation ${recipe.degrade ? `random (${boxShareOf(run)} box ` + `mean)` : 'box mean'}${
      run.wideShare ? `, ${run.wideShare} of crops at ${(run.widePitches ?? LEGACY_WIDE_PITCHES).join('/')}x pixel ` + `pitch` : ''
    }, pixel L1 ${recipe.pixelL1}${recipe.lossMargin ? `, loss margin ${recipe.lossMargin} LR px` : ''}, EMA ${recipe.ema || 'off'}, ` +
    `lr ${run.lr} ${recipe.schedule}${
      recipe.schedule === 'cosine' ? ` over ${recipe.scheduleSteps} ` + `steps` : ''
    }, warm-up ${recipe.lrWarmup}) on ${pool.flavour} with ${pool.size} worker(s), batch ${run.batch}, crop ${run.crop}`
  );
}

/** One step: a discriminator update (once adversarial), then a generator update and the EMA. */
async function trainStep(t: Training): Promise<{ losses: Record<string, number>; adversarial: boolean }> {
  const { run, recipe, pool } = t;
  const { params, adamG, adamD, state, ema } = t.c;
  const adversarial = run.loss === 'adversarial' || (run.loss === 'full' && state.step >= run.warmup);
  const { hr, lr } = trainingBatch(t.data.images, t.rng, run.crop, run.batch, run.scale, recipe.degrade, boxShareOf(run), t.data.wide);
  const losses: Record<string, number> = {};
  adamG.opts.lr = adamD.opts.lr = learningRate(run.lr, recipe, state.step);
  if (adversarial) {
    const d = await pool.run('d', params, hr, lr, run.batch, run.crop);
    adamD.step(params, averageGrads(d.map((r) => r.grads)));
    addMean(
      losses,
      d.map((r) => r.losses),
    );
  }
  const g = await pool.run('g', params, hr, lr, run.batch, run.crop, {
    content: run.loss !== 'adversarial',
    adversarial,
    alpha: run.alpha,
    pixelL1: recipe.pixelL1,
    lossMargin: recipe.lossMargin,
  });
  adamG.step(params, averageGrads(g.map((r) => r.grads)));
  if (ema) updateEma(ema, params, recipe.ema, adamG.t);
  addMean(
    losses,
    g.map((r) => r.losses),
  );
  return { losses, adversarial };
}

/** The end of an epoch: validation (and the best model), the history, and a checkpoint. */
async function endEpoch(t: Training, tally: EpochTally, sps: number, adversarial: boolean): Promise<void> {
  const {
    o,
    c: { state, config },
    layout: { names, gNames, shapes },
    data: { pairs, pairsBN, pairsOS, bicubic, bicubicBN },
  } = t;
  state.epoch++;
  const record: EpochRecord = {
    epoch: state.epoch,
    step: state.step,
    psnr: NaN,
    ssim: NaN,
    bicubicPsnr: bicubic?.psnr ?? NaN,
    losses: Object.fromEntries(Object.entries(tally.losses).map(([k, v]) => [k, v / tally.steps])),
    stepsPerSec: sps,
    adversarial,
    wallSec: 0,
  };
  if (pairs.length) {
    const shipped = toWeights(shipValues(t), gNames, shapes);
    const v = await validate(config, shipped, pairs);
    record.psnr = v.psnr;
    record.ssim = v.ssim;
    let extra = '';
    if (pairsBN.length) {
      const bn = await validate(config, shipped, pairsBN);
      record.blurNoise = { psnr: bn.psnr, ssim: bn.ssim, bicubicPsnr: bicubicBN!.psnr, bicubicSsim: bicubicBN!.ssim };
      extra +=
        `; blur-noise ${bn.psnr.toFixed(2)} dB (${signed(bn.psnr - bicubicBN!.psnr)}), SSIM ${bn.ssim.toFixed(4)} ` +
        `(bicubic ${bicubicBN!.ssim.toFixed(4)})`;
    }
    for (const [k, { pitch, pairs: ps, bicubic: b }] of pairsOS.entries()) {
      const os = await validate(config, shipped, ps);
      const scored = { psnr: os.psnr, ssim: os.ssim, bicubicPsnr: b.psnr, bicubicSsim: b.ssim };
      if (k === 0) {
        record.otherScope = scored;
        extra += `; other-scope ${os.psnr.toFixed(2)} dB (${signed(os.psnr - b.psnr)}), SSIM ${os.ssim.toFixed(4)} (bicubic ${b.ssim.toFixed(4)})`;
      } else {
        (record.otherScopeAt ??= []).push({ pitch, ...scored });
        extra += `${k === 1 ? '; at pitch' : ','} ${pitch} ${signed(os.psnr - b.psnr)}`;
      }
    }
    if (t.c.ema) {
      // The raw weights too, so the EMA's worth is measured, not assumed.
      const raw = await validate(config, toWeights(t.c.params, gNames, shapes), pairs);
      record.raw = { psnr: raw.psnr, ssim: raw.ssim };
      extra += `; raw weights ${raw.psnr.toFixed(2)} dB`;
    }
    const score = selectionScore(record);
    const conditions = scoredConditions(record);
    // A run resumed across a change of the rule cannot compare its best so far with this epoch: the epoch wins, and says so.
    const ruleChanged = !!state.best && state.best.conditions !== conditions;
    const better = !state.best || ruleChanged || score > state.best.score!;
    if (ruleChanged)
      t.log(`the selection rule changed since the best so far (step ${state.best!.step}) was picked: this epoch replaces it`);
    t.log(
      `epoch ${state.epoch} (step ${state.step}): val PSNR ${v.psnr.toFixed(2)} dB ` +
        `(bicubic ${bicubic!.psnr.toFixed(2)}, ${signed(v.psnr - bicubic!.psnr)}), SSIM ${v.ssim.toFixed(4)}${extra}, ` +
        `lr ${t.c.adamG.opts.lr.toExponential(2)}, ${sps.toFixed(3)} steps/s${better ? ' — best so far, saved' : ''}`,
    );
    if (better) {
      state.best = { psnr: v.psnr, ssim: v.ssim, step: state.step, epoch: state.epoch, score, conditions };
      await saveModel(
        path.join(o.out, BEST_DIR),
        config,
        toWeights(shipValues(t), names, shapes),
        provenance(
          t,
          `best validation (mean gain over bicubic ${signed(score)} dB across ${conditions} conditions; box ${v.psnr.toFixed(2)} dB) at step ${state.step}`,
        ),
      );
    }
  } else {
    t.log(`epoch ${state.epoch} (step ${state.step}): losses ${fmt(record.losses)}, ${sps.toFixed(3)} steps/s (no --val: no validation)`);
  }
  state.wallSec += (performance.now() - t.wallMark) / 1000;
  t.wallMark = performance.now();
  record.wallSec = state.wallSec;
  state.history.push(record);
  await saveRunCheckpoint(t);
  await fs.writeFile(path.join(o.out, 'history.json'), `${JSON.stringify(state.history, null, 1)}\n`);
}

/** OUT/checkpoint/ as checkpoint.ts writes it (the format a resume reads). */
async function saveRunCheckpoint(t: Training): Promise<void> {
  const { config, params, adamG, adamD, state, ema } = t.c;
  const { names, shapes } = t.layout;
  await saveCheckpoint(
    t.o.out,
    { config, params, adamG, adamD, state, ...(ema ? { ema } : {}) },
    toWeights(params, names, shapes),
    provenance(t, 'checkpoint'),
  );
}

/** The weights that validate and ship: the generator's EMA when the run keeps one, the discriminator as is. */
function shipValues(t: Training): ParamValues {
  return t.c.ema ? { ...t.c.params, ...t.c.ema } : t.c.params;
}

// An average of models (phasesr average) or an initialisation records no steps; '0 steps' would read as untrained.
const startDescription = (steps: number): string =>
  steps ? `a model of ${steps} steps` : 'a model with no step count (an average of models, or an initialisation)';

function provenance(t: Training, what: string): Provenance {
  const {
    o,
    run,
    c: { config, state },
  } = t;
  return {
    trained: true,
    created: new Date().toISOString(),
    steps: state.step,
    data: o.data,
    description:
      `${what}: ${config.name} ${run.scale}x, ${run.loss} ` +
      `loss${
        run.loss === 'full'
          ? ` ` + `(alpha ${run.alpha}${run.warmup ? `, the first ${Math.min(run.warmup, state.step)} steps ` + `content-only` : ''})`
          : ''
      }, ${state.step} steps of batch ${run.batch} ` +
      `on ${path.basename(path.resolve(o.data))}${run.init ? `, starting from ${startDescription(run.init.steps)}` : ''}`,
    ...(o.command ? { command: o.command } : {}),
    ...(run.init ? { initFrom: withoutDir(run.init) } : {}),
  };
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

/**
 * What picks the best checkpoint: the mean PSNR gain over bicubic across the validation conditions recorded
 * (8x runs: box, blur-noise and other-scope at each of VAL_SCOPE_PITCHES, six in all; other scales: box).
 * Robustness across microscopes is the aim, so no one condition decides.
 */
export function selectionScore(r: EpochRecord): number {
  const gains = conditionGains(r);
  return gains.reduce((a, b) => a + b, 0) / gains.length;
}

function conditionGains(r: EpochRecord): number[] {
  const gains = [r.psnr - r.bicubicPsnr];
  for (const c of [r.blurNoise, r.otherScope, ...(r.otherScopeAt ?? [])]) if (c) gains.push(c.psnr - c.bicubicPsnr);
  return gains;
}

const scoredConditions = (r: EpochRecord): number => conditionGains(r).length;

const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;

export function fmt(losses: Record<string, number>): string {
  return Object.entries(losses)
    .map(([k, v]) => `${k} ${v.toFixed(4)}`)
    .join(', ');
}
