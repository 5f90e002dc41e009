// `phasesr eval` as a library: every image of a folder, bicubic, Lanczos-3 and each model, at every cascade
// level, scored by the protocol of docs/evaluation.md.
import path from 'node:path';
import type { EngineChoice, SuperResBackend } from '../engine/backend';
import { isPresetName } from '../config';
import { evalEngine } from './eval-engine';
import { DEFAULT_MODEL, describeModel, resolveModel } from '../registry';
import { SSIM_K1, SSIM_K2, SSIM_SIGMA, SSIM_WINDOW } from './metrics';
import { levelTarget, modelLevels, resizeBaseline, scoreAgainst, type BaselineKernel, type LevelTarget } from './evaluate';
import { listEvalImages, loadEvalPairs, METRIC_PERCENTILES, type EvalPair } from './pairs';
import { describeCondition, type Condition } from '../degradation/conditions';
import { splitFiles, type SplitSet } from '../splits/split';
import { CodedError } from '../error-codes';

export interface EvalOptions {
  /** Folder of HR images (.png/.tif/.tiff); with `split`, the data root the split's paths are relative to. */
  data: string;
  /** A split file and the set of it to score (models/splits/). */
  split?: { file: string; set: SplitSet };
  /** How the LR is made from each HR (default 'box', the paper's protocol). */
  condition?: Condition;
  /** With 'other-scope': the other camera's pixel pitch (default OTHER_SCOPE.pitch). */
  scopePitch?: number;
  scale: 2 | 4 | 8;
  /** Model specs: a preset name (its shipped weights) or a model directory (default: DEFAULT_MODEL). */
  models?: string[];
  tile?: number;
  batch?: number;
  engine?: EngineChoice;
  threads?: number;
  log?: (line: string) => void;
}

export interface ImageScore {
  image: string;
  /** dB; Infinity when SR equals the reference exactly (null in JSON). */
  psnr: number;
  ssim: number;
}

export interface MethodResult {
  /** 'bicubic', 'lanczos3' or a model's label. */
  method: string;
  kind: 'baseline' | 'model';
  images: ImageScore[];
  /** Arithmetic means of the per-image values. */
  mean: { psnr: number; ssim: number };
  /** mean PSNR minus bicubic's mean PSNR. */
  gainOverBicubicDb: number;
}

export interface LevelResult {
  /** Cascade level: 1 = 2x, 2 = 4x, 3 = 8x of the LR. */
  level: number;
  upscale: number;
  /** What the SR is compared with. */
  reference: string;
  methods: MethodResult[];
}

export interface ModelInfo {
  label: string;
  spec: string;
  name: string;
  scale: number;
  sha256: string;
  trained: boolean;
  summary: string;
  engine: string;
}

export interface EvalReport {
  created: string;
  data: string;
  /** The split set scored, when a split file chose the images. */
  split?: { file: string; set: SplitSet };
  condition: Condition;
  scale: number;
  images: { name: string; dtype: string; width: number; height: number; lrWidth: number; lrHeight: number; low: number; high: number }[];
  models: ModelInfo[];
  protocol: {
    crop: string;
    degradation: string;
    metricMapping: string;
    psnrDataRange: number;
    ssim: { window: number; sigma: number; k1: number; k2: number; positions: string };
    bicubic: string;
    lanczos3: string;
    model: string;
  };
  /** Top level (the requested scale) first. */
  levels: LevelResult[];
}

const BASELINES: { method: string; kernel: BaselineKernel }[] = [
  { method: 'bicubic', kernel: 'cubic' },
  { method: 'lanczos3', kernel: 'lanczos3' },
];

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Table labels for model specs: the preset name or the directory's name (a training run's best/ or
 *  checkpoint/ with its run folder: every run has a best/), made unique. */
export function modelLabels(specs: string[]): string[] {
  const seen = new Map<string, number>();
  return specs.map((s) => {
    let dir = path.resolve(s);
    if (path.basename(dir) === 'model.json') dir = path.dirname(dir);
    let base = isPresetName(s) ? s : path.basename(dir);
    if (base === 'best' || base === 'checkpoint') base = `${path.basename(path.dirname(dir))}/${base}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}#${n}`;
  });
}

export async function runEval(o: EvalOptions): Promise<EvalReport> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const specs = o.models && o.models.length > 0 ? o.models : [DEFAULT_MODEL];
  // The input files are listed first (a missing --data fails before any model is read), then the models are
  // resolved before any image work, so a wrong --model fails at once too.
  const files = o.split ? await splitFiles(o.split.file, o.data, o.split.set) : await listEvalImages(o.data);
  const models = await Promise.all(specs.map((s) => resolveModel(s)));
  for (const [i, m] of models.entries()) {
    if (m.config.scale < o.scale) {
      throw new CodedError('SR_ERR_USAGE', `model '${specs[i]}' is ${m.config.scale}x; it cannot be evaluated at ${o.scale}x`);
    }
  }
  const labels = modelLabels(specs);
  const condition = o.condition ?? 'box';
  const pairs = await loadEvalPairs(files, o.scale, condition, o.scopePitch);
  const pitch = o.scopePitch && condition === 'other-scope' ? ` at pitch ${o.scopePitch}` : '';
  log(
    `eval: ${pairs.length} image(s) ` +
      `from ${o.data}${o.split ? ` (${o.split.set} set of ${path.basename(o.split.file)})` : ''} at ${o.scale}x, LR by '${condition}'${pitch}`,
  );
  const top = Math.log2(o.scale);
  const targets: LevelTarget[][] = [];
  for (const p of pairs) {
    const t: LevelTarget[] = [];
    for (let l = 1; l <= top; l++) t.push(await levelTarget(p, l));
    targets.push(t);
  }

  // scores[level-1][method] = per-image scores in pair order
  const scores: Map<string, ImageScore[]>[] = Array.from({ length: top }, () => new Map());
  const add = (level: number, method: string, image: string, s: { psnr: number; ssim: number }): void => {
    const m = scores[level - 1]!;
    if (!m.has(method)) m.set(method, []);
    m.get(method)!.push({ image, psnr: s.psnr, ssim: s.ssim });
  };

  for (const [i, p] of pairs.entries()) {
    for (const b of BASELINES) {
      for (let l = 1; l <= top; l++) add(l, b.method, p.name, scoreAgainst(targets[i]![l - 1]!, await resizeBaseline(p, b.kernel, l)));
    }
  }
  const infos: ModelInfo[] = [];
  for (const [k, m] of models.entries()) {
    log(`model ${labels[k]}: ${describeModel(m)}`);
    const backend: SuperResBackend = await evalEngine(m, { engine: o.engine, threads: o.threads, log });
    try {
      for (const [i, p] of pairs.entries()) {
        const t0 = performance.now();
        const outs = await modelLevels(backend, p, { ...(o.tile ? { tile: o.tile } : {}), ...(o.batch ? { batch: o.batch } : {}) });
        for (let l = 1; l <= top; l++) add(l, labels[k]!, p.name, scoreAgainst(targets[i]![l - 1]!, outs[l - 1]!));
        log(`  ${p.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      }
      infos.push({
        label: labels[k]!,
        spec: specs[k]!,
        name: m.config.name,
        scale: m.config.scale,
        sha256: m.sha256,
        trained: m.provenance.trained,
        summary: describeModel(m),
        engine: backend.engine,
      });
    } finally {
      await backend.dispose();
    }
  }

  const levels: LevelResult[] = [];
  for (let l = top; l >= 1; l--) {
    const f = o.scale / 2 ** l;
    const methods: MethodResult[] = [...scores[l - 1]!.entries()].map(([method, images]) => ({
      method,
      kind: BASELINES.some((b) => b.method === method) ? 'baseline' : 'model',
      images,
      mean: { psnr: mean(images.map((s) => s.psnr)), ssim: mean(images.map((s) => s.ssim)) },
      gainOverBicubicDb: 0,
    }));
    const bicubic = methods.find((m) => m.method === 'bicubic')!.mean.psnr;
    for (const m of methods) m.gainOverBicubicDb = m.mean.psnr - bicubic;
    levels.push({
      level: l,
      upscale: 2 ** l,
      methods,
      reference: f === 1 ? 'HR' : `HR box-downsampled by ${f} (rounded to its dtype)`,
    });
  }
  return {
    created: new Date().toISOString(),
    data: path.resolve(o.data),
    ...(o.split ? { split: o.split } : {}),
    condition,
    scale: o.scale,
    images: pairs.map((p: EvalPair) => ({
      name: p.name,
      dtype: p.dtype,
      width: p.width,
      height: p.height,
      lrWidth: p.lrWidth,
      lrHeight: p.lrHeight,
      low: p.low,
      high: p.high,
    })),
    models: infos,
    protocol: {
      crop: `HR cropped top-left to a multiple of ${o.scale}`,
      degradation: describeCondition(condition, o.scale, o.scopePitch),
      metricMapping: `reference and SR mapped through the reference's ${METRIC_PERCENTILES.join('/')} percentiles to [0,1], clipped`,
      psnrDataRange: 1,
      ssim: {
        window: SSIM_WINDOW,
        sigma: SSIM_SIGMA,
        k1: SSIM_K1,
        k2: SSIM_K2,
        positions: `valid: windows wholly inside the image ((W-${SSIM_WINDOW - 1})x(H-${SSIM_WINDOW - 1}) map), no padding`,
      },
      bicubic: 'sharp/libvips bicubic (Catmull-Rom) via affine, centre-aligned, edges replicated, rounded to dtype',
      lanczos3: 'separable Lanczos a=3, centre-aligned, edges replicated, weights normalised, rounded to dtype',
      model: `LR percentiles 0.1/99.9 -> superResolve (${o.engine ?? 'ort-cpu'} engine, tiled with halo) -> denormalise to the HR dtype (rounded)`,
    },
    levels,
  };
}
