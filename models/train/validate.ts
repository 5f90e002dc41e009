// Per-epoch validation: the generator as it stands, exported to ONNX and run through the same tiled
// engine path users get (superResolve + onnxruntime), scored by the evaluation protocol (docs/evaluation.md).
import type { ModelConfig } from '../config';
import { createEngine } from '../engine/create-engine';
import { resizeBaseline, scorePair, modelLevels } from '../eval/evaluate';
import type { EvalPair } from '../eval/pairs';
import type { Weights } from '../params';

export interface ValidationScore {
  psnr: number;
  ssim: number;
  perImage: { name: string; psnr: number; ssim: number }[];
}

export async function validate(config: ModelConfig, weights: Weights, pairs: EvalPair[]): Promise<ValidationScore> {
  const backend = await createEngine(config, weights, { engine: 'ort-cpu', log: () => {} });
  try {
    const perImage = [];
    for (const p of pairs) {
      const levels = await modelLevels(backend, p);
      perImage.push({ name: p.name, ...scorePair(p, levels.at(-1)!) });
    }
    return { ...mean(perImage), perImage };
  } finally {
    await backend.dispose();
  }
}

/** Bicubic on the same pairs: the reference line every epoch is compared with. */
export async function validateBicubic(pairs: EvalPair[]): Promise<ValidationScore> {
  const perImage = [];
  for (const p of pairs) perImage.push({ name: p.name, ...scorePair(p, await resizeBaseline(p, 'cubic')) });
  return { ...mean(perImage), perImage };
}

function mean(rows: { psnr: number; ssim: number }[]): { psnr: number; ssim: number } {
  return { psnr: rows.reduce((a, r) => a + r.psnr, 0) / rows.length, ssim: rows.reduce((a, r) => a + r.ssim, 0) / rows.length };
}
