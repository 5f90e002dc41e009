// The steps before a run's first training step: open the run (a new one from the seed or --init, or a
// resumed checkpoint, with the schedule changes a resume may make), choose the worker count, and load the
// training images and the validation pairs with their bicubic baselines.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type ModelConfig, sameArchitecture } from '../config';
import { CodedError } from '../error-codes';
import { OTHER_SCOPE } from '../degradation/conditions';
import { loadEvalPairs, type EvalPair } from '../eval/pairs';
import { discriminatorParams, generatorParams, initWeights, Mulberry32 } from '../params';
import { splitFiles } from '../splits/split';
import { initTfjs, tfjsNativeInstalled, type TfjsFlavour } from '../tfjs/runtime';
import { loadModel, modelRef, type Provenance } from '../weights-file';
import { Adam, PAPER_ADAM } from './adam';
import { loadCheckpoint, type Checkpoint, type TrainerState } from './checkpoint';
import { loadTrainImageAt, type TrainImage } from './data';
import type { ParamValues } from './gradients';
import { DEFAULT_RECIPE, LEGACY_WIDE_PITCHES, runConfig, type InitFrom, type RunOptions, type TrainOptions } from './run-options';
import { validateBicubic, type ValidationScore } from './validate';

type Log = (line: string) => void;

/**
 * The run to train: the checkpoint in `o.out` (--resume), or a new run seeded from `o.seed` (and --init).
 * A resume keeps the run's own options except --warmup and --schedule-steps, whose changes it records.
 * @throws CodedError SR_ERR_USAGE (--resume with --init; --wide-pitches with --wide-share 0; a --loss-margin the crop cannot hold;
 *   a new run into a folder that holds one; a bad --init)
 */
export async function openRun(o: TrainOptions, log: Log): Promise<Checkpoint<RunOptions>> {
  const adamOpts = { ...PAPER_ADAM, lr: o.lr };
  if (o.resume && o.init) throw new CodedError('SR_ERR_USAGE', '--init starts a new run from a model; --resume continues a run: use one');
  if (o.widePitches && o.wideShare === 0)
    throw new CodedError('SR_ERR_USAGE', '--wide-pitches sets the pitches of the --wide-share crops: --wide-share 0 leaves none');
  if (!o.resume && o.lossMargin && 2 * o.lossMargin >= o.crop / o.scale)
    throw new CodedError(
      'SR_ERR_USAGE',
      `--loss-margin ${o.lossMargin} leaves nothing of a ${o.crop / o.scale}px LR crop (--crop ${o.crop} at ${o.scale}x) to train on`,
    );
  if (!o.resume) return newRun(o, adamOpts, log);
  const c = await loadCheckpoint<RunOptions>(o.out, adamOpts);
  // The run's own learning rate, not this command line's.
  c.adamG.opts = c.adamD.opts = { ...PAPER_ADAM, lr: c.state.options.lr };
  log(`resuming ${o.out} at step ${c.state.step} (epoch ${c.state.epoch})`);
  const { state } = c;
  const run = state.options;
  if (o.warmup !== undefined && o.warmup !== run.warmup) {
    log(`warm-up changed from ${run.warmup} to ${o.warmup} steps at step ${state.step}`);
    (state.scheduleChanges ??= []).push({ step: state.step, warmup: { from: run.warmup, to: o.warmup } });
    run.warmup = o.warmup;
  }
  if (o.scheduleSteps !== undefined && o.scheduleSteps !== run.scheduleSteps) {
    log(`learning rate schedule length changed from ${run.scheduleSteps} to ${o.scheduleSteps} steps at step ${state.step}`);
    (state.scheduleChanges ??= []).push({ step: state.step, scheduleSteps: { from: run.scheduleSteps ?? 0, to: o.scheduleSteps } });
    run.scheduleSteps = o.scheduleSteps;
  }
  return c;
}

async function newRun(o: TrainOptions, adamOpts: typeof PAPER_ADAM, log: Log): Promise<Checkpoint<RunOptions>> {
  if (
    await fs.access(path.join(o.out, 'checkpoint')).then(
      () => true,
      () => false,
    )
  ) {
    throw new CodedError('SR_ERR_USAGE', `${o.out} already holds a training run: pass --resume to continue it, or choose another --out`);
  }
  const config = runConfig(o);
  const init = initWeights([...generatorParams(config), ...discriminatorParams(config)], o.seed, config.leakySlope);
  const params: ParamValues = Object.fromEntries([...init].map(([n, t]) => [n, t.data]));
  const from = o.init ? await startFrom(o.init, config, params, log) : undefined;
  if (from) log(`starting from ${from.dir} (${from.description})`);
  const wideShare = o.wideShare ?? DEFAULT_RECIPE.wideShare;
  const run: RunOptions = {
    preset: o.preset,
    scale: o.scale,
    ...(o.bodyMlp ? { bodyMlp: o.bodyMlp } : {}),
    loss: o.loss,
    dpf: o.dpf,
    alpha: o.alpha,
    warmup: o.warmup ?? 0,
    batch: o.batch,
    crop: o.crop,
    lr: o.lr,
    seed: o.seed,
    stepsPerEpoch: o.stepsPerEpoch,
    ...(from ? { init: from } : {}),
    degrade: o.degrade ?? DEFAULT_RECIPE.degrade,
    // Recorded even when defaulted: a run that records none is one made before the option (LEGACY_*).
    boxShare: o.boxShare ?? DEFAULT_RECIPE.boxShare,
    ...(wideShare ? { wideShare, widePitches: [...(o.widePitches ?? DEFAULT_RECIPE.widePitches)] } : {}),
    pixelL1: o.pixelL1 ?? DEFAULT_RECIPE.pixelL1,
    lossMargin: o.lossMargin ?? DEFAULT_RECIPE.lossMargin,
    ema: o.ema ?? DEFAULT_RECIPE.ema,
    schedule: o.schedule ?? DEFAULT_RECIPE.schedule,
    scheduleSteps: o.scheduleSteps ?? o.steps,
    lrWarmup: o.lrWarmup ?? DEFAULT_RECIPE.lrWarmup,
  };
  const state: TrainerState<RunOptions> = {
    formatVersion: 1,
    options: run,
    step: 0,
    epoch: 0,
    rng: new Mulberry32(o.seed).state,
    adamG: 0,
    adamD: 0,
    best: null,
    history: [],
    wallSec: 0,
  };
  return { config, params, adamG: new Adam(adamOpts), adamD: new Adam(adamOpts), state };
}

/** The lineage as the provenance keeps it: where the model was on this machine does not travel with it. */
export function withoutDir({ dir: _dir, ...initFrom }: InitFrom): NonNullable<Provenance['initFrom']> {
  return initFrom;
}

/**
 * Overwrites the seeded `params` with a model's tensors (--init). The generator must be there with the
 * run's architecture, or the same one less the body's channel MLPs that this run adds (their last 1x1
 * starts at zero, so the run starts out computing what the model did); the discriminator is taken when
 * present (a training run's model holds it), else it keeps its seeded initialisation.
 */
async function startFrom(dir: string, config: ModelConfig, params: ParamValues, log: Log): Promise<InitFrom> {
  const m = await loadModel(dir);
  const withoutMlp = ({ body, ...c }: ModelConfig): ModelConfig => {
    if (!body) return c;
    const { mlp: _mlp, ...rest } = body;
    return { ...c, body: rest };
  };
  const describe = (c: ModelConfig) =>
    `${c.name}: widths ${c.widths.join('/')}, ${c.scale}x, DPF ${c.dpf ? 'on' : 'off'}${c.body?.mlp ? `, body MLP ${c.body.mlp}` : ''}`;
  // the one change --init allows: this run adds body MLPs to a model that has none
  const grows = !!config.body?.mlp && !m.config.body?.mlp && sameArchitecture(m.config, withoutMlp(config));
  if (!sameArchitecture(m.config, config) && !grows) {
    throw new CodedError(
      'SR_ERR_USAGE',
      `--init ${dir} is a different architecture (${describe(m.config)}) from this run's (${describe(config)})`,
    );
  }
  for (const [name, t] of m.weights) {
    const into = params[name];
    if (!into) continue;
    if (into.length !== t.data.length)
      throw new CodedError('SR_ERR_USAGE', `--init ${dir}: tensor ${name} has ${t.data.length} values, the run needs ${into.length}`);
    into.set(t.data);
  }
  if (grows) log(`--init ${dir} has no body MLP: this run's ${config.body?.blocks} body MLPs start as the identity`);
  return { dir, ...modelRef(m), steps: m.provenance.steps ?? 0 };
}

/**
 * The tfjs flavour a run's gradients will use. The runtime is started here only when a native package
 * resolves (it may still fail to start and fall back to wasm); otherwise it is wasm (or cpu, when asked),
 * and the main process loads no tfjs backend it does not use.
 */
export async function trainingFlavour(prefer: 'best' | 'wasm' | 'cpu'): Promise<TfjsFlavour> {
  const native = prefer === 'best' && (tfjsNativeInstalled('@tensorflow/tfjs-node-gpu') || tfjsNativeInstalled('@tensorflow/tfjs-node'));
  if (native) return (await initTfjs(prefer)).flavour;
  return prefer === 'cpu' ? 'tfjs-cpu' : 'tfjs-wasm';
}

/**
 * wasm runs one thread per process, so the batch is split over worker threads (one per core that divides
 * the batch); native tfjs is multi-threaded already and keeps one. Decided by the backend that started, not
 * by whether the native package resolves: a tfjs-node whose native library is missing (installed with npm's
 * --ignore-scripts) resolves, fails to start and falls back to wasm, and one worker then halved the speed.
 */
export function defaultWorkers(batch: number, flavour: TfjsFlavour): number {
  if (flavour === 'tfjs-node' || flavour === 'tfjs-node-gpu') return 1;
  for (let k = Math.min(os.availableParallelism(), batch); k > 1; k--) if (batch % k === 0) return k;
  return 1;
}

/** The images a run trains on and validates with. */
export interface TrainingData {
  images: TrainImage[];
  /** The same images at wider pixel pitches, and the share of crops taken from them (--wide-share, --wide-pitches). */
  wide?: { images: TrainImage[]; share: number };
  /** Validation pairs, box condition (empty without --val or a split). */
  pairs: EvalPair[];
  /** The same images under the blur-noise condition (8x runs only). */
  pairsBN: EvalPair[];
  /** The same images under the other-scope condition at each of VAL_SCOPE_PITCHES (8x runs only), pitch 2 first. */
  pairsOS: { pitch: number; pairs: EvalPair[]; bicubic: ValidationScore }[];
  bicubic?: ValidationScore;
  bicubicBN?: ValidationScore;
}

/**
 * The other-scope pitches validated every epoch (8x runs). With box and blur-noise they are the six conditions
 * whose mean gain over bicubic picks the checkpoint (trainer.ts selectionScore): the rule the shipped model was
 * chosen by. Cameras with coarser pixels (2, 1.5) and finer ones (0.75, 0.5) than the training microscope's.
 */
export const VAL_SCOPE_PITCHES = [OTHER_SCOPE.pitch, 1.5, 0.75, 0.5] as const;

/**
 * The training images at pitch 1 and at the run's wide pitches, and the validation pairs. A new run on the
 * default pitches drops those that leave an image smaller than the crop (small images, large crops) and
 * records what it kept in `run`; pitches given with --wide-pitches must all fit.
 * @throws CodedError SR_ERR_USAGE when an image (at pitch 1, or at a pitch given on the command line) is smaller than the crop
 */
export async function loadTrainingData(o: TrainOptions, run: RunOptions, files: string[], log: Log): Promise<TrainingData> {
  log(`loading ${files.length} training images from ${o.data}`);
  const images: TrainImage[] = [];
  let pitches = run.wideShare ? (run.widePitches ?? LEGACY_WIDE_PITCHES) : [];
  // Each file is decoded once for all its pitches; the wide images stay pitch-major (all files at the first
  // pitch, then the next), the order resumed runs draw from.
  const perFile: TrainImage[][] = [];
  for (const f of files) perFile.push(await loadTrainImageAt(f, run.scale, [1, ...pitches]));
  for (const at of perFile) images.push(at[0]!);
  if (pitches.length && !o.resume && !o.widePitches) {
    const fits = pitches.map((_, k) => perFile.every((at) => at[k + 1]!.width >= run.crop && at[k + 1]!.height >= run.crop));
    const dropped = pitches.filter((_, k) => !fits[k]);
    if (dropped.length) {
      log(`wide crops: pitch ${dropped.join(', ')} dropped, where an image would be smaller than the ${run.crop}px crop`);
      for (const at of perFile) at.splice(1, at.length - 1, ...at.slice(1).filter((_, k) => fits[k]));
      pitches = pitches.filter((_, k) => fits[k]);
      if (pitches.length) run.widePitches = [...pitches];
      else {
        delete run.wideShare;
        delete run.widePitches;
      }
    }
  }
  const wide = run.wideShare ? { images: pitches.flatMap((_, k) => perFile.map((at) => at[k + 1]!)), share: run.wideShare } : undefined;
  const small = [...images, ...(wide?.images ?? [])].filter((im) => im.width < run.crop || im.height < run.crop);
  if (small.length) throw new CodedError('SR_ERR_USAGE', `${small.map((i) => i.name).join(', ')} smaller than the ${run.crop}px crop`);
  const valFiles = o.val ?? (o.split ? await splitFiles(o.split, o.data, 'val') : undefined);
  const pairs = valFiles ? await loadEvalPairs(valFiles, run.scale) : [];
  // Robustness is checked every epoch: blur + centre sampling + noise, and other cameras' pixel pitches; the
  // best checkpoint is the one with the largest mean gain over bicubic across all the conditions.
  const pairsBN = valFiles && run.scale === 8 ? await loadEvalPairs(valFiles, run.scale, 'blur-noise') : [];
  const pairsOS: TrainingData['pairsOS'] = [];
  if (valFiles && run.scale === 8)
    for (const pitch of VAL_SCOPE_PITCHES) {
      const ps = await loadEvalPairs(valFiles, run.scale, 'other-scope', pitch);
      pairsOS.push({ pitch, pairs: ps, bicubic: await validateBicubic(ps) });
    }
  const bicubic = pairs.length ? await validateBicubic(pairs) : undefined;
  const bicubicBN = pairsBN.length ? await validateBicubic(pairsBN) : undefined;
  if (bicubic)
    log(
      `validation: ${pairs.length} images from ${typeof valFiles === 'string' ? valFiles : "the split's val set"}; ` +
        `bicubic PSNR ${bicubic.psnr.toFixed(2)} dB, ` +
        `SSIM ${bicubic.ssim.toFixed(4)}${bicubicBN ? `; blur-noise: bicubic ${bicubicBN.psnr.toFixed(2)} dB, SSIM ${bicubicBN.ssim.toFixed(4)}` : ''}`,
    );
  return {
    images,
    ...(wide ? { wide } : {}),
    pairs,
    pairsBN,
    pairsOS,
    ...(bicubic ? { bicubic } : {}),
    ...(bicubicBN ? { bicubicBN } : {}),
  };
}
