// `phasesr export --bioimageio`: a bioimage.io model package (format 0.5) of a phasesr model, as one zip:
// bioimageio.yaml, weights.onnx, test input and outputs (.npy), a cover (the eval figure: LR | bicubic |
// model) and README.md with the model card's validation numbers. Test tensors: the LR of a crop of an HR
// image (default: the synthetic sample), preprocessed exactly as the yaml says (scale_range), run through
// this ONNX graph on onnxruntime.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { zipSync } from 'fflate';
import { stringify } from 'yaml';

import { createEngine } from '../engine/create-engine';
import { exportOnnx } from '../engine/onnx-export';
import { resizeBaseline, modelLevels } from '../eval/evaluate';
import { makeFigure, nearestUp } from '../eval/figure';
import { makeEvalPair, percentilesOf } from '../eval/pairs';
import { ImageSource } from '../io/image-source';
import { generatorParams } from '../params';
import { NORMALISATION_PERCENTILES } from '../pipeline/run-sr';
import { makeSample } from '../sample/sample';
import { haloFor, receptiveRadius } from '../tiling';
import type { LoadedModel } from '../weights-file';
import { documentation } from './documentation';
import { modelDescription, outputScale, type FileRef } from './description';
import { encodeNpy } from './npy';
import { onnxFacts, sha256 } from './onnx-facts';
import { CodedError } from '../error-codes';

export interface BioimageioOptions {
  /** Name of the zip (quoted in the documentation's validation command). */
  zipName: string;
  /** SPDX licence id of the weights. */
  license: string;
  authors: string[];
  /** HR image whose centre crop gives the test input and cover (default: the synthetic sample). */
  image?: string;
  log?: (line: string) => void;
}

/** y/x sizes offered: min + n * STEP, min = 2 * halo + STEP (a tile's core is then a multiple of STEP). */
export const SIZE_STEP = 16;
/** Smallest side of the test input, in LR pixels (rounded up to a valid size). */
const TEST_LR_SIDE = 64;
/** scale_range's eps: the spec's default (1e-6), a negligible change to phasesr's (v - low) / (high - low). */
const EPS = 1e-6;

/** The package's files by name (bioimageio.yaml first) and its description. */
export async function bioimageioPackage(
  model: LoadedModel,
  o: BioimageioOptions,
): Promise<{ files: Map<string, Uint8Array>; description: Record<string, unknown> }> {
  const { config, weights } = model;
  const log = o.log ?? (() => {});
  const onnxBytes = exportOnnx(config, weights);
  const facts = onnxFacts(onnxBytes);
  const halo = haloFor(config);
  const size = { min: 2 * halo + SIZE_STEP, step: SIZE_STEP };
  const lrSide = size.min + Math.max(0, Math.ceil((TEST_LR_SIDE - size.min) / size.step)) * size.step;
  const pair = await makeEvalPair('test', ...(await hrCrop(lrSide * config.scale, o.image)), config.scale);
  log(`test input: ${lrSide}x${lrSide} LR of a ${pair.width}x${pair.height} crop of ${o.image ?? 'the synthetic sample'}`);

  const engine = await createEngine(config, weights, { engine: 'ort-cpu', log });
  let levels, cover;
  try {
    const { low, high } = await percentilesOf(pair.lr, lrSide, lrSide, pair.dtype, NORMALISATION_PERCENTILES);
    const x = new Float32Array(pair.lr.length);
    for (let i = 0; i < x.length; i++) x[i] = (pair.lr[i]! - low) / (high - low + EPS);
    levels = await engine.run(x, 1, lrSide, lrSide);
    cover = await makeFigure(
      pair,
      [
        { label: `LR (1/${config.scale})`, data: nearestUp(pair) },
        { label: 'bicubic', data: await resizeBaseline(pair, 'cubic'), scored: true },
        { label: `phasesr ${config.name}`, data: (await modelLevels(engine, pair)).at(-1)!, scored: true },
      ],
      { size: Math.min(128, pair.width) },
    );
  } finally {
    await engine.dispose();
  }

  const files = new Map<string, Uint8Array>();
  const add = (name: string, bytes: Uint8Array): FileRef => {
    files.set(name, bytes);
    return { source: name, sha256: sha256(bytes) };
  };
  files.set('bioimageio.yaml', new Uint8Array()); // placeholder: first in the zip
  const testInput = add('test_input.npy', encodeNpy({ shape: [1, 1, lrSide, lrSide], data: pair.lr }));
  const testOutputs: Record<string, FileRef> = {};
  for (const name of facts.outputs) {
    const s = outputScale(name);
    const lv = levels.find((l) => l.scale === s);
    if (!lv) throw new Error(`the engine gave no ${s}x output for ONNX output ${name}`);
    testOutputs[name] = add(`test_output_${name}.npy`, encodeNpy({ shape: [1, 1, lv.height, lv.width], data: lv.data }));
  }
  const onnx = { ...add('weights.onnx', onnxBytes), ...facts, source: 'weights.onnx' };
  files.set('cover.png', new Uint8Array(cover));
  const card = await readFile(path.join(model.dir, 'README.md'), 'utf8').catch(() => undefined);
  files.set(
    'README.md',
    new TextEncoder().encode(
      documentation({
        config,
        provenance: model.provenance,
        ...(card ? { card } : {}),
        halo,
        size,
        outputs: facts.outputs,
        percentiles: NORMALISATION_PERCENTILES,
        zipName: o.zipName,
      }),
    ),
  );
  const description = modelDescription({
    config,
    provenance: model.provenance,
    modelSha256: model.sha256,
    onnx,
    halo,
    receptiveRadius: receptiveRadius(config),
    size,
    percentiles: NORMALISATION_PERCENTILES,
    eps: EPS,
    testInput,
    testOutputs,
    cover: 'cover.png',
    documentation: 'README.md',
    authors: o.authors.map((name) => ({ name })),
    license: o.license,
    parameterCount: generatorParams(config).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0),
  });
  files.set('bioimageio.yaml', new TextEncoder().encode(stringify(description, { lineWidth: 0, aliasDuplicateObjects: false })));
  return { files, description };
}

/** The zip of a package's files (deflated; a bioimage.io package is a plain zip with bioimageio.yaml at its root). */
export function zipPackage(files: Map<string, Uint8Array>): Uint8Array {
  return zipSync(Object.fromEntries(files), { level: 6, mtime: new Date('2026-01-01T00:00:00Z') });
}

/** A side x side HR crop (centred) of `file`, or the synthetic sample of that size. */
async function hrCrop(side: number, file?: string): Promise<[Float32Array, number, number, 'uint8' | 'uint16' | 'float32']> {
  if (!file) return [Float32Array.from(makeSample({ width: side, height: side, seed: 1 }).data), side, side, 'uint16'];
  const src = await ImageSource.open(file);
  try {
    if (src.width < side || src.height < side)
      throw new CodedError('SR_ERR_USAGE', `${file} is ${src.width}x${src.height}; the test crop needs ${side}x${side}`);
    const x = Math.floor((src.width - side) / 2),
      y = Math.floor((src.height - side) / 2);
    return [await src.readRegion(x, y, side, side), side, side, src.dtype];
  } finally {
    await src.close();
  }
}
