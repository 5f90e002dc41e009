// The one on-disk format of a model: a directory holding model.json (config, provenance, tensor index,
// sha256) and a little-endian float32 blob. Loading verifies the hash and every tensor's name and shape.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ModelConfigSchema, parseConfig, type ModelConfig } from './config';
import { CalibrationError, loadCalibration, type Int8Calibration } from './engine/int8-calibration-file';
import { generatorParams, type Weights } from './params';

export const MODEL_FORMAT = 'phasesr-model';
export const MODEL_FORMAT_VERSION = 1;
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** Another model named in a provenance (a run's start, an average's inputs): its hash and its own words. */
const ModelRefSchema = z.object({
  sha256: z.string(),
  description: z.string(),
  steps: z.number().int().nonnegative(),
  command: z.string().optional(),
});

const ProvenanceSchema = z.object({
  /** False for an initialisation that was never trained: tools must say so wherever it is used. */
  trained: z.boolean(),
  description: z.string(),
  created: z.string(),
  command: z.string().optional(),
  steps: z.number().int().nonnegative().optional(),
  data: z.string().optional(),
  /** The model a training run started from (`phasesr train --init`); its own provenance names its origin in words. */
  initFrom: ModelRefSchema.optional(),
  /** The models whose weights were averaged into this one (`phasesr average`), each named as initFrom names its start. */
  averageOf: z.array(ModelRefSchema.partial({ steps: true })).optional(),
});
export type Provenance = z.infer<typeof ProvenanceSchema>;

/** How a provenance names a loaded model (initFrom, averageOf); `steps` only where its own provenance has them. */
export function modelRef(m: LoadedModel): NonNullable<Provenance['averageOf']>[number] {
  const p = m.provenance;
  return {
    sha256: m.sha256,
    description: p.description,
    ...(p.steps !== undefined ? { steps: p.steps } : {}),
    ...(p.command ? { command: p.command } : {}),
  };
}

const ModelJsonSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  formatVersion: z.literal(MODEL_FORMAT_VERSION),
  config: ModelConfigSchema,
  provenance: ProvenanceSchema,
  weights: z.object({
    file: z.string().regex(/^[\w.-]+$/, 'a plain file name in the model directory'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    dtype: z.literal('float32'),
    byteOrder: z.literal('little'),
    tensors: z.array(
      z.object({ name: z.string(), shape: z.array(z.number().int().nonnegative()), offset: z.number().int().nonnegative() }),
    ),
  }),
});

export interface LoadedModel {
  dir: string;
  config: ModelConfig;
  provenance: Provenance;
  weights: Weights;
  /** sha256 of the weights blob: with the config, it identifies the model (cache keys, logs). */
  sha256: string;
  /**
   * The int8 engine's activation ranges (int8-calibration.json beside model.json), when measured. A stale or
   * malformed file is kept as the error the int8 engine will throw: it concerns only that engine, so float
   * engines and `phasesr calibrate` (which replaces it) still load the model.
   */
  int8?: Int8Calibration | CalibrationError;
}

/** A model file problem (missing, malformed, hash mismatch, wrong tensors). */
export class ModelFileError extends Error {
  constructor(
    readonly code: 'SR_ERR_MODEL_NOT_FOUND' | 'SR_ERR_MODEL_FORMAT' | 'SR_ERR_MODEL_HASH',
    message: string,
  ) {
    super(message);
  }
}

/** Writes `weights` (all of them, generator and optionally discriminator) and model.json into `dir`. */
export async function saveModel(dir: string, config: ModelConfig, weights: Weights, provenance: Provenance): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const tensors: { name: string; shape: number[]; offset: number }[] = [];
  let bytes = 0;
  for (const [name, t] of weights) {
    tensors.push({ name, shape: t.shape, offset: bytes });
    bytes += t.data.length * 4;
  }
  const blob = Buffer.alloc(bytes);
  let i = 0;
  for (const t of weights.values()) for (const v of t.data) blob.writeFloatLE(v, i++ * 4);
  const sha256 = createHash('sha256').update(blob).digest('hex');
  const json = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    config,
    provenance,
    weights: { file: WEIGHTS_BIN, sha256, dtype: 'float32', byteOrder: 'little', tensors },
  };
  // Write the blob first and model.json last, each via rename, so a crash never leaves a model.json
  // that points at a half-written blob.
  await writeAtomic(path.join(dir, WEIGHTS_BIN), blob);
  await writeAtomic(path.join(dir, MODEL_JSON), Buffer.from(`${JSON.stringify(json, null, 1)}\n`));
  return sha256;
}

/** Loads and verifies a model directory (or its model.json). */
export async function loadModel(dirOrJson: string): Promise<LoadedModel> {
  const dir = dirOrJson.endsWith('.json') ? path.dirname(dirOrJson) : dirOrJson;
  const jsonPath = path.join(dir, MODEL_JSON);
  let raw: string;
  try {
    raw = await fs.readFile(jsonPath, 'utf8');
  } catch {
    throw new ModelFileError('SR_ERR_MODEL_NOT_FOUND', `no model at ${dir} (expected ${MODEL_JSON} there)`);
  }
  let parsed: z.infer<typeof ModelJsonSchema>;
  try {
    const r = ModelJsonSchema.safeParse(JSON.parse(raw));
    if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    parsed = r.data;
  } catch (e) {
    throw new ModelFileError('SR_ERR_MODEL_FORMAT', `${jsonPath} is not a valid ${MODEL_FORMAT} file: ${(e as Error).message}`);
  }
  const config = parseConfig(parsed.config);
  const blobPath = path.join(dir, parsed.weights.file);
  const blob = await fs.readFile(blobPath).catch(() => {
    throw new ModelFileError('SR_ERR_MODEL_NOT_FOUND', `weights file missing: ${blobPath}`);
  });
  const sha256 = createHash('sha256').update(blob).digest('hex');
  if (sha256 !== parsed.weights.sha256) {
    throw new ModelFileError(
      'SR_ERR_MODEL_HASH',
      `weights ${blobPath} do not match model.json: sha256 ${sha256}, expected ${parsed.weights.sha256} (corrupt or replaced file)`,
    );
  }
  const weights: Weights = new Map();
  for (const t of parsed.weights.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.offset % 4 !== 0 || t.offset + n * 4 > blob.length) {
      throw new ModelFileError('SR_ERR_MODEL_FORMAT', `tensor ${t.name} lies outside ${blobPath}`);
    }
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = blob.readFloatLE(t.offset + i * 4);
    weights.set(t.name, { shape: t.shape, data });
  }
  for (const spec of generatorParams(config)) {
    const t = weights.get(spec.name);
    if (!t) throw new ModelFileError('SR_ERR_MODEL_FORMAT', `${jsonPath}: missing tensor ${spec.name}`);
    if (t.shape.join('x') !== spec.shape.join('x')) {
      throw new ModelFileError(
        'SR_ERR_MODEL_FORMAT',
        `${jsonPath}: tensor ${spec.name} has shape ${t.shape.join('x')}, the config needs ${spec.shape.join('x')}`,
      );
    }
  }
  const int8 = await loadCalibration(dir, sha256).catch((e: unknown) => {
    if (e instanceof CalibrationError) return e;
    throw e;
  });
  return { dir, config, provenance: parsed.provenance, weights, sha256, ...(int8 ? { int8 } : {}) };
}

async function writeAtomic(file: string, data: Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.partial`;
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
}
