// What a training run is: the options a run keeps in its checkpoint (so a resume continues the same run),
// the recipe with its legacy and default values, the learning-rate schedule, and the options of one
// `phasesr train` invocation.
import { PRESETS, parseConfig, type ModelConfig, type Scale } from '../config';
import { CodedError } from '../error-codes';
import type { Provenance } from '../weights-file';

export type LossMode = 'full' | 'content' | 'adversarial';

/** What defines a run; saved in the checkpoint, so a resume continues the same run. */
export interface RunOptions {
  preset: TrainPreset;
  scale: Scale;
  /** Hidden width of the LR body's channel MLPs (config.body.mlp; absent: none, the preset as it is). */
  bodyMlp?: number;
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
  /** With degrade: the share of crops whose LR stays exactly the box mean (absent: LEGACY_BOX_SHARE, the rule before the option). */
  boxShare?: number;
  /** The share of crops taken from the training images at wider pixel pitches (absent: none). */
  wideShare?: number;
  /** The pitches of those wide crops, each drawn equally often (absent: [2], the rule before the option). */
  widePitches?: number[];
  /** Weight of the pixel L1 added to the content loss at every level. */
  pixelL1?: number;
  /** LR pixels at each crop edge left out of the content loss (absent: 0, the rule before the option). */
  lossMargin?: number;
  /** Decay of the exponential moving average of the generator's weights (0: none). The EMA is what validates and ships. */
  ema?: number;
  /** Learning rate schedule: constant, or cosine from lr down to 1% of it over scheduleSteps, after lrWarmup linear steps. */
  schedule?: 'constant' | 'cosine';
  scheduleSteps?: number;
  lrWarmup?: number;
}

/** The pitch of the wide crops in a run that records a share but no pitches: the rule when --wide-share came in. */
export const LEGACY_WIDE_PITCHES: readonly number[] = [2];

export type TrainPreset = 'lite' | 'paper' | 'body';

/** What a run made before the recipe options existed trained with. */
export const LEGACY_RECIPE = {
  degrade: false,
  pixelL1: 0,
  lossMargin: 0,
  ema: 0,
  schedule: 'constant',
  scheduleSteps: 0,
  lrWarmup: 0,
} as const;

/**
 * Defaults of a new run: the recipe of the shipped body's last fine-tune, which won on val across six
 * conditions (box share 0.25 -> 0.5 -> 0.75 -> 0.9, wide crops at six pitches). Their ablation and what
 * each default is worth: models/shipped/body/README.md. A new run records every one of them, so a resume
 * never depends on these values.
 */
export const DEFAULT_RECIPE = {
  degrade: true,
  boxShare: 0.9,
  wideShare: 0.5,
  widePitches: [0.5, 0.75, 1.25, 1.5, 2, 3] as readonly number[],
  pixelL1: 1,
  lossMargin: 0,
  ema: 0.999,
  schedule: 'cosine',
  lrWarmup: 200,
} as const;

export type Recipe = Required<Pick<RunOptions, 'degrade' | 'pixelL1' | 'lossMargin' | 'ema' | 'schedule' | 'scheduleSteps' | 'lrWarmup'>>;

/** The run's recipe, legacy values for runs that predate it. */
export function recipeOf(run: RunOptions): Recipe {
  return {
    degrade: run.degrade ?? LEGACY_RECIPE.degrade,
    pixelL1: run.pixelL1 ?? LEGACY_RECIPE.pixelL1,
    lossMargin: run.lossMargin ?? LEGACY_RECIPE.lossMargin,
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

/** @throws CodedError SR_ERR_USAGE (a body MLP for a preset without an LR body) */
export function runConfig(o: Pick<RunOptions, 'preset' | 'scale' | 'dpf' | 'bodyMlp'>): ModelConfig {
  const base = PRESETS[o.preset](o.scale);
  if (o.bodyMlp && !base.body) throw new CodedError('SR_ERR_USAGE', `--body-mlp: preset ${o.preset} has no LR body`);
  return parseConfig({
    ...base,
    dpf: o.dpf,
    name: o.dpf ? base.name : `${base.name}-nodpf`,
    ...(o.bodyMlp && base.body ? { body: { ...base.body, mlp: o.bodyMlp } } : {}),
  });
}
