// Where models live: the shipped ones under models/shipped/<preset>/, or any model directory by path.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPresetName } from './config';
import { loadModel, ModelFileError, type LoadedModel } from './weights-file';

export const SHIPPED_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'shipped');
export const DEFAULT_MODEL = 'body';

/** Resolves `lite`, `paper` (shipped weights) or a path to a model directory / model.json, and loads it. */
export async function resolveModel(spec: string = DEFAULT_MODEL): Promise<LoadedModel> {
  if (isPresetName(spec)) {
    const dir = path.join(SHIPPED_DIR, spec);
    if (!existsSync(dir)) {
      throw new ModelFileError(
        'SR_ERR_MODEL_NOT_FOUND',
        `no weights are shipped for preset '${spec}' (it is too big to train on a 2-core CPU); ` +
          `train it on a GPU machine and pass --model PATH_TO_MODEL_DIR`,
      );
    }
    return loadModel(dir);
  }
  return loadModel(path.resolve(spec));
}

/** One line that says what a model is, never hiding that it is untrained. */
export function describeModel(m: LoadedModel): string {
  const c = m.config;
  const state = m.provenance.trained ? `trained (${m.provenance.description})` : `UNTRAINED: ${m.provenance.description}`;
  return (
    `${c.name} ${c.scale}x, widths ${c.widths.join('/')}, ${c.convsPerModule} conv/module, ` +
    `${
      c.body ? `LR body ${c.body.blocks} blocks${c.body.mixer ? ' + 1x1 mixers' : ''}${c.body.mlp ? ` + MLP ${c.body.mlp}` : ''}, ` : ''
    }DPF ${c.dpf ? 'on' : 'off'}, skip ${c.skip}; ${state}; sha256 ${m.sha256.slice(0, 12)}`
  );
}
