// One training step's gradients for a slice of the batch, given the current parameters. Stateless apart
// from the parameter values: the optimiser lives in the trainer, so several of these (one per worker
// thread) can share a step and have their gradients averaged.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config';
import { discriminatorParams, generatorParams } from '../params';
import { discriminatorForward } from '../tfjs/discriminator';
import { generatorForward } from '../tfjs/generator';
import type { Params } from '../tfjs/layers';
import { contentLoss, discriminatorLoss, generatorAdversarialLoss, generatorLoss } from '../tfjs/losses';
import { initTfjs, type TfjsFlavour } from '../tfjs/runtime';

/** Flat parameter values by name (generator `g.*` and discriminator `d.*`). */
export type ParamValues = Record<string, Float32Array>;

/** Which terms the generator step optimises. */
export interface GeneratorTerms {
  content: boolean;
  adversarial: boolean;
  /** Weight of the content loss (the paper's alpha). */
  alpha: number;
  /** Weight of a plain pixel L1 at every level, added to the content loss (0: the paper's loss alone). */
  pixelL1?: number;
  /** LR pixels at each crop edge left out of the content loss (0: none). */
  lossMargin?: number;
}

export interface GradientResult {
  grads: ParamValues;
  /** Loss values of this slice: d, or g_adv / g_content / g (whichever apply). */
  losses: Record<string, number>;
}

export class GradientComputer {
  readonly #g: Params = new Map();
  readonly #d: Params = new Map();
  readonly #names = new Map<string, string>();

  private constructor(
    readonly config: ModelConfig,
    readonly flavour: TfjsFlavour,
  ) {
    // tfjs variable names are global to the process: let tfjs name them and map back by our names.
    for (const [specs, map] of [
      [generatorParams(config), this.#g],
      [discriminatorParams(config), this.#d],
    ] as const) {
      for (const s of specs) {
        const v = tf.variable(tf.zeros(s.shape), true);
        map.set(s.name, v);
        this.#names.set(v.name, s.name);
      }
    }
  }

  static async create(config: ModelConfig, prefer: 'best' | 'wasm' | 'cpu' = 'best'): Promise<GradientComputer> {
    const rt = await initTfjs(prefer);
    return new GradientComputer(config, rt.flavour);
  }

  /** Loads parameter values; names not given keep their values. */
  setParams(values: ParamValues): void {
    for (const [name, data] of Object.entries(values)) {
      const v = (this.#g.get(name) ?? this.#d.get(name)) as tf.Variable | undefined;
      if (!v) throw new Error(`unknown parameter ${name}`);
      // In a tidy, so the uploaded tensor is released once the variable holds its data (else every
      // step leaks a copy of the parameters, and wasm aborts at its 4 GB heap limit).
      tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
    }
  }

  /** Discriminator gradients: real = the HR crops, fake = the generator's finest output (no generator gradient). */
  discriminator(hr: Float32Array, lr: Float32Array, n: number, size: number): GradientResult {
    const real = tf.tensor4d(hr, [n, size, size, 1]);
    const fake = tf.tidy(() => generatorForward(this.config, this.#g, this.#lr(lr, n, size)).at(-1)!);
    try {
      const { value, grads } = tf.variableGrads(
        () => discriminatorLoss(discriminatorForward(this.config, this.#d, real), discriminatorForward(this.config, this.#d, fake)),
        [...this.#d.values()] as tf.Variable[],
      );
      return { grads: this.#read(grads), losses: { d: readScalar(value) } };
    } finally {
      tf.dispose([real, fake]);
    }
  }

  /** Generator gradients for `terms` (content: DPF L1 at every level, or plain L1 without DPF). */
  generator(hr: Float32Array, lr: Float32Array, n: number, size: number, terms: GeneratorTerms): GradientResult {
    if (!terms.content && !terms.adversarial) throw new Error('the generator step needs a content or an adversarial term');
    const real = tf.tensor4d(hr, [n, size, size, 1]);
    const parts: Record<string, tf.Scalar> = {};
    try {
      const { value, grads } = tf.variableGrads(
        () => {
          const outs = generatorForward(this.config, this.#g, this.#lr(lr, n, size));
          const content = terms.content ? contentLoss(this.config, outs, real, terms.pixelL1 ?? 0, terms.lossMargin ?? 0) : undefined;
          const adv = terms.adversarial ? generatorAdversarialLoss(discriminatorForward(this.config, this.#d, outs.at(-1)!)) : undefined;
          if (content) parts.g_content = tf.keep(content.clone());
          if (adv) parts.g_adv = tf.keep(adv.clone());
          if (content && adv) return generatorLoss(adv, content, terms.alpha);
          return content ?? adv!;
        },
        [...this.#g.values()] as tf.Variable[],
      );
      const losses: Record<string, number> = { g: readScalar(value) };
      for (const [k, t] of Object.entries(parts)) losses[k] = readScalar(t);
      return { grads: this.#read(grads), losses };
    } finally {
      real.dispose();
      tf.dispose(Object.values(parts));
    }
  }

  /** The generator's outputs for LR crops (inference; for tests). */
  generate(lr: Float32Array, n: number, size: number): Float32Array[] {
    return tf
      .tidy(() => generatorForward(this.config, this.#g, this.#lr(lr, n, size)))
      .map((t) => {
        const d = t.dataSync() as Float32Array;
        t.dispose();
        return d;
      });
  }

  /** The LR batch (made by the trainer: models/train/data.ts trainingBatch) for HR crops of side `size`. */
  #lr(lr: Float32Array, n: number, size: number): tf.Tensor4D {
    const s = size / this.config.scale;
    return tf.tensor4d(lr, [n, s, s, 1]);
  }

  /** Gradient tensors (keyed by tfjs variable name) to values keyed by parameter name. */
  #read(grads: tf.NamedTensorMap): ParamValues {
    const out: ParamValues = {};
    for (const [vname, t] of Object.entries(grads)) {
      out[this.#names.get(vname)!] = t.dataSync() as Float32Array;
      t.dispose();
    }
    return out;
  }

  dispose(): void {
    tf.dispose([...this.#g.values(), ...this.#d.values()]);
  }
}

function readScalar(t: tf.Tensor): number {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
}
