// A uniform average of several trained models' weights (a "model soup", Wortsman et al. 2022): models
// fine-tuned from one start usually lie in one basin, where the average of their weights scores at least as
// well as the best of them, at no cost when served. Only models of one architecture can be averaged.
import { isDeepStrictEqual } from 'node:util';
import { type ModelConfig, sameArchitecture } from '../config';
import { CodedError } from '../error-codes';
import type { Weights } from '../params';
import { modelRef, type LoadedModel, type Provenance } from '../weights-file';

const named = (m: LoadedModel): string => `${m.provenance.description} (sha256 ${m.sha256.slice(0, 12)})`;

export function averageModels(models: readonly LoadedModel[]): { config: ModelConfig; weights: Weights; provenance: Provenance } {
  const [first, ...rest] = models;
  if (!first || !rest.length) throw new CodedError('SR_ERR_USAGE', `averaging needs at least two models, got ${models.length}`);
  for (const m of rest) {
    if (!sameArchitecture(m.config, first.config))
      throw new CodedError('SR_ERR_USAGE', `${m.dir} has another architecture than ${first.dir}`);
    if (m.weights.size !== first.weights.size) throw new CodedError('SR_ERR_USAGE', `${m.dir} has other tensors than ${first.dir}`);
  }
  const untrained = models.find((m) => !m.provenance.trained);
  if (untrained) throw new CodedError('SR_ERR_USAGE', `${untrained.dir} is an untrained initialisation`);
  const weights: Weights = new Map();
  for (const [name, t] of first.weights) {
    const sum = new Float64Array(t.data.length);
    for (const m of models) {
      const o = m.weights.get(name);
      if (!o || !isDeepStrictEqual(o.shape, t.shape))
        throw new CodedError('SR_ERR_USAGE', `${m.dir}: tensor ${name} missing or of another shape`);
      for (let i = 0; i < sum.length; i++) sum[i]! += o.data[i]!;
    }
    weights.set(name, { shape: t.shape, data: Float32Array.from(sum, (v) => v / models.length) });
  }
  const provenance: Provenance = {
    trained: true,
    description: `uniform average of ${models.length} models' weights: ${models.map(named).join('; ')}`,
    created: new Date().toISOString(),
    averageOf: models.map(modelRef),
  };
  return { config: first.config, weights, provenance };
}
