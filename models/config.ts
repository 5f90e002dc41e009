// The model of record's configuration: one typed, validated object shared by training (tfjs),
// export (ONNX) and serving. Everything that changes the numbers a model computes lives here.
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';

/** Scale factor -> number of refinement modules (each one a bilinear x2). */
export const SCALES = { 2: 1, 4: 2, 8: 3 } as const;
export type Scale = 2 | 4 | 8;

const Width = z.number().int().min(1).max(4096);

export const ModelConfigSchema = z
  .object({
    /** Free text naming the architecture ("lite", "paper", or a custom name). */
    name: z.string().min(1),
    scale: z.union([z.literal(2), z.literal(4), z.literal(8)]),
    /**
     * Feature width per level, from the input resolution up: widths[0] at 1x (the input module),
     * widths[k] after the k-th x2 refinement. Length = log2(scale) + 1.
     */
    widths: z.array(Width).min(2).max(4),
    /** 3x3 convolutions per module (each followed by layer norm and LeakyReLU). */
    convsPerModule: z.union([z.literal(1), z.literal(2)]),
    /** DPF enrichment of the input: the LR image plus its 12 DPF responses (13 channels). Off = the
     *  paper's "single image input" ablation (1 channel). */
    dpf: z.boolean(),
    /**
     * 'none' (the paper): each level's 1x1 projection is the image.
     * 'bilinear': the projection is a residual added to a half-pixel bilinear upsample of the LR input
     * (a fixed path with no weights; it makes the untrained model equal bilinear and speeds up training).
     */
    skip: z.enum(['none', 'bilinear']),
    leakySlope: z.number().min(0).max(1),
    /** Epsilon of the per-pixel channel layer norm. */
    lnEpsilon: z.number().positive(),
    /** Discriminator: 4 downsampling modules [3x3 conv, LN, LReLU, 2x2 max-pool], then 1x1 to logits. */
    discWidths: z.array(Width).length(4),
    /**
     * A feature body at LR resolution between the input module and the first x2 module (absent in the
     * paper and lite). `blocks` residual blocks of width widths[0], each 3x3 conv -> LReLU -> (1x1 mixer ->
     * LReLU) -> 3x3 conv, added to its input (the last conv starts at zero, so each block starts as the identity). No normalisation
     * over space and no pooling, so every output pixel still depends only on a bounded neighbourhood.
     * Capacity is cheap here: a 3x3 conv at LR size costs 1/64 of the same conv at 8x size.
     * `mlp` (optional): after each block, a residual channel MLP of that hidden width (1x1 -> LReLU -> 1x1,
     * added to its input; the second 1x1 starts at zero). Capacity that widens no receptive field, so the
     * halo stays; a model without it can seed one with it (train --init) and start out computing the same.
     */
    body: z
      .object({ blocks: z.number().int().min(1).max(64), mixer: z.boolean(), mlp: Width.optional() })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const want = SCALES[c.scale] + 1;
    if (c.widths.length !== want) {
      ctx.addIssue({
        code: 'custom',
        path: ['widths'],
        message: `scale ${c.scale} needs ${want} widths (input level + ${SCALES[c.scale]} refinement levels), got ${c.widths.length}`,
      });
    }
  });

export type ModelConfig = z.infer<typeof ModelConfigSchema>;

/** Number of x2 refinement modules (= number of output levels). */
export const levelCount = (c: Pick<ModelConfig, 'scale'>): number => SCALES[c.scale];

/** Input channels of the first convolution. */
export const inputChannels = (c: Pick<ModelConfig, 'dpf'>): number => (c.dpf ? 13 : 1);

/** One architecture: the same numbers computed, whatever the preset's name (a name only labels a model). */
export const sameArchitecture = (a: ModelConfig, b: ModelConfig): boolean => isDeepStrictEqual({ ...a, name: '' }, { ...b, name: '' });

export class ConfigError extends Error {
  readonly code = 'SR_ERR_MODEL_CONFIG';
}

/** Validates an unknown value (e.g. parsed JSON) as a model config; throws a ConfigError naming every problem. */
export function parseConfig(value: unknown): ModelConfig {
  const r = ModelConfigSchema.safeParse(value);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid model config: ${msg}`);
  }
  return r.data;
}

const BASE = { leakySlope: 0.2, lnEpsilon: 1e-5 } as const;

/** Widths for a preset at a scale other than 8: keep the first (input) width and the finest ones. */
function widthsFor(all8x: number[], scale: Scale): number[] {
  const n = SCALES[scale];
  return [all8x[0]!, ...all8x.slice(all8x.length - n)];
}

export const PRESETS = {
  /** As Han & Yin published it: widths 512, 512, 256, 256 from 32^2 to 256^2, two 3x3 convs per module. */
  paper: (scale: Scale = 8): ModelConfig =>
    parseConfig({
      ...BASE,
      name: 'paper',
      scale,
      widths: widthsFor([512, 512, 256, 256], scale),
      convsPerModule: 2,
      dpf: true,
      skip: 'none',
      discWidths: [64, 128, 256, 512],
    }),
  /** Sized for a 2-core CPU; chosen with `npm run bench:engine` (see docs/benchmarks/engine.md). */
  lite: (scale: Scale = 8): ModelConfig =>
    parseConfig({
      ...BASE,
      name: 'lite',
      scale,
      widths: widthsFor([64, 64, 48, 32], scale),
      convsPerModule: 2,
      dpf: true,
      skip: 'bilinear',
      discWidths: [32, 64, 128, 128],
    }),
  /**
   * The default: lite's cascade (one 96-wide input module, then 64/48/32 at 2x/4x/8x) fed by a residual
   * body of 4 blocks at LR resolution. ~1.3x lite's FLOPs per tile; receptive radius 15 LR pixels.
   */
  body: (scale: Scale = 8): ModelConfig =>
    parseConfig({
      ...BASE,
      name: 'body',
      scale,
      widths: widthsFor([96, 64, 48, 32], scale),
      convsPerModule: 2,
      dpf: true,
      skip: 'bilinear',
      discWidths: [32, 64, 128, 128],
      body: { blocks: 4, mixer: true },
    }),
} as const;

export type PresetName = keyof typeof PRESETS;
export const isPresetName = (s: string): s is PresetName => Object.hasOwn(PRESETS, s);
