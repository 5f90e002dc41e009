// Adam (Kingma & Ba) over flat parameter arrays, in plain JS: the optimiser state stays in the main
// thread while worker threads only compute gradients, and it is trivially saved in a checkpoint.
import type { ParamValues } from './gradients';

export interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** The paper's settings: lr 1e-4, beta1 0.9 (beta2 and epsilon are the usual defaults). */
export const PAPER_ADAM: AdamOptions = { lr: 1e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

export class Adam {
  /** Updates taken so far (for the bias correction). */
  t = 0;
  readonly m: ParamValues = {};
  readonly v: ParamValues = {};

  constructor(public opts: AdamOptions) {}

  /** One update of `params` in place with `grads` (same names; names missing from grads are left alone). */
  step(params: ParamValues, grads: ParamValues): void {
    this.t++;
    const { lr, beta1: b1, beta2: b2, epsilon: eps } = this.opts;
    const a = (lr * Math.sqrt(1 - b2 ** this.t)) / (1 - b1 ** this.t);
    for (const [name, g] of Object.entries(grads)) {
      const p = params[name];
      if (!p || p.length !== g.length) throw new Error(`Adam: no parameter ${name} of ${g.length} values`);
      const m = (this.m[name] ??= new Float32Array(g.length));
      const v = (this.v[name] ??= new Float32Array(g.length));
      for (let i = 0; i < g.length; i++) {
        const gi = g[i]!;
        m[i] = b1 * m[i]! + (1 - b1) * gi;
        v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
        p[i] = p[i]! - (a * m[i]!) / (Math.sqrt(v[i]!) + eps);
      }
    }
  }
}

/** The element-wise mean of several gradient sets (one per worker, equal batch slices). */
export function averageGrads(parts: ParamValues[]): ParamValues {
  if (parts.length === 1) return parts[0]!;
  const out: ParamValues = {};
  for (const name of Object.keys(parts[0]!)) {
    const acc = new Float32Array(parts[0]![name]!.length);
    for (const p of parts) {
      const g = p[name]!;
      for (let i = 0; i < acc.length; i++) acc[i]! += g[i]!;
    }
    for (let i = 0; i < acc.length; i++) acc[i]! /= parts.length;
    out[name] = acc;
  }
  return out;
}
