// Parameter layout of the generator and discriminator: names, shapes and a seeded initialiser.
// Both runtimes (tfjs for training, the ONNX exporter for serving) read weights by these names.
import { inputChannels, levelCount, type ModelConfig } from './config';

/** A named float32 tensor. Conv kernels are HWIO ([kh, kw, in, out]), as tfjs stores them. */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}
export type Weights = Map<string, NamedTensor>;

export interface ParamSpec {
  name: string;
  shape: number[];
  /** 'he': conv kernels (He-normal, LeakyReLU gain); 'zero' | 'one': biases and norm affine. */
  init: 'he' | 'zero' | 'one';
}

/**
 * Generator parameters. Level 0 is the input module (at 1x); level k = 1..n is the k-th x2 refinement
 * module. Conv j of level k: `g.l{k}.c{j}.w` [3,3,cin,cout], `.b` [cout], `.ln.g`/`.ln.b` [cout].
 * Each refinement level projects to an image: `g.l{k}.proj.w` [1,1,width,1], `g.l{k}.proj.b` [1].
 */
export function generatorParams(c: ModelConfig): ParamSpec[] {
  const specs: ParamSpec[] = [];
  let cin = inputChannels(c);
  for (let k = 0; k <= levelCount(c); k++) {
    const w = c.widths[k]!;
    for (let j = 0; j < c.convsPerModule; j++) {
      specs.push(...convSpecs(`g.l${k}.c${j}`, 3, cin, w));
      cin = w;
    }
    if (k === 0 && c.body) specs.push(...bodyParams(c.body, w));
    if (k > 0) {
      specs.push({ name: `g.l${k}.proj.w`, shape: [1, 1, w, 1], init: c.skip === 'bilinear' ? 'zero' : 'he' });
      specs.push({ name: `g.l${k}.proj.b`, shape: [1], init: 'zero' });
    }
  }
  return specs;
}

/**
 * The LR body's residual blocks: `g.body{b}.a` (3x3), `.m` (1x1 mixer, optional), `.z` (3x3, zero-initialised
 * so that each block starts as the identity and the untrained body passes its input through); with `mlp`,
 * `.e` and `.f`, the block's channel MLP.
 */
function bodyParams(body: NonNullable<ModelConfig['body']>, w: number): ParamSpec[] {
  const specs: ParamSpec[] = [];
  for (let b = 0; b < body.blocks; b++) {
    const convs: [string, number, ParamSpec['init']][] = [
      ['a', 3, 'he'],
      ...(body.mixer ? [['m', 1, 'he'] as [string, number, ParamSpec['init']]] : []),
      ['z', 3, 'zero'],
    ];
    for (const [part, k, init] of convs) {
      specs.push({ name: `g.body${b}.${part}.w`, shape: [k, k, w, w], init });
      specs.push({ name: `g.body${b}.${part}.b`, shape: [w], init: 'zero' });
    }
    if (body.mlp) {
      // The channel MLP: `e` widens to mlp, `f` (zero-initialised: the MLP starts as the identity) narrows back.
      specs.push({ name: `g.body${b}.e.w`, shape: [1, 1, w, body.mlp], init: 'he' });
      specs.push({ name: `g.body${b}.e.b`, shape: [body.mlp], init: 'zero' });
      specs.push({ name: `g.body${b}.f.w`, shape: [1, 1, body.mlp, w], init: 'zero' });
      specs.push({ name: `g.body${b}.f.b`, shape: [w], init: 'zero' });
    }
  }
  return specs;
}

/** Discriminator parameters: `d.c{j}` for the 4 downsampling modules, `d.out.w`/`d.out.b` the 1x1 to logits. */
export function discriminatorParams(c: ModelConfig): ParamSpec[] {
  const specs: ParamSpec[] = [];
  let cin = 1;
  c.discWidths.forEach((w, j) => {
    specs.push(...convSpecs(`d.c${j}`, 3, cin, w));
    cin = w;
  });
  specs.push({ name: 'd.out.w', shape: [1, 1, cin, 1], init: 'he' });
  specs.push({ name: 'd.out.b', shape: [1], init: 'zero' });
  return specs;
}

function convSpecs(prefix: string, k: number, cin: number, cout: number): ParamSpec[] {
  return [
    { name: `${prefix}.w`, shape: [k, k, cin, cout], init: 'he' },
    { name: `${prefix}.b`, shape: [cout], init: 'zero' },
    { name: `${prefix}.ln.g`, shape: [cout], init: 'one' },
    { name: `${prefix}.ln.b`, shape: [cout], init: 'zero' },
  ];
}

/**
 * mulberry32: a tiny seeded PRNG, so that an initialisation is reproducible from its seed alone. Its whole
 * state is one 32-bit integer, which a training checkpoint saves so that a resumed run draws the same crops.
 */
export class Mulberry32 {
  state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** A mulberry32 stream as a function returning uniforms in [0, 1). */
export function mulberry32(seed: number): () => number {
  const g = new Mulberry32(seed);
  return () => g.next();
}

/** Standard normal samples (Box-Muller) from a uniform source. */
export function gaussian(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/**
 * Seeded initialisation: He-normal for kernels (gain for LeakyReLU slope), zeros/ones elsewhere.
 */
export function initWeights(specs: ParamSpec[], seed: number, leakySlope = 0.2): Weights {
  const randn = gaussian(mulberry32(seed));
  const out: Weights = new Map();
  for (const s of specs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (s.init === 'one') data.fill(1);
    else if (s.init === 'he') {
      const fanIn = s.shape.slice(0, -1).reduce((a, b) => a * b, 1);
      const std = Math.sqrt(2 / ((1 + leakySlope * leakySlope) * fanIn));
      for (let i = 0; i < n; i++) data[i] = randn() * std;
    }
    out.set(s.name, { shape: [...s.shape], data });
  }
  return out;
}

/** Random values in every parameter (biases and norm affine too): for parity tests, where zeros would hide bugs. */
export function randomWeights(specs: ParamSpec[], seed: number): Weights {
  const randn = gaussian(mulberry32(seed));
  const w = initWeights(specs, seed);
  for (const s of specs) {
    const t = w.get(s.name)!;
    if (s.init === 'zero') for (let i = 0; i < t.data.length; i++) t.data[i] = 0.1 * randn();
    else if (s.init === 'one') for (let i = 0; i < t.data.length; i++) t.data[i] = 1 + 0.1 * randn();
  }
  return w;
}
