// Calibration of the int8 engine: the float graph runs once over patches of training images, and the
// range of every convolution's input and output is recorded. The result is stored beside the model
// (int8-calibration.json) and tied to its weights by sha256, so serving never computes a scale.
import type { ModelConfig } from '../config';
import type { Weights } from '../params';
import { loadEvalPair, percentilesOf } from '../eval/pairs';
import { normalise } from '../io/normalisation';
import { NORMALISATION_PERCENTILES } from '../pipeline/run-sr';
import { cropRect } from '../tiling';
import { INT8_CALIBRATION_FORMAT, type Int8Calibration } from './int8-calibration-file';
import type { ConvRanges, Range } from './int8-quantize';
import { exportOnnx, tapName } from './onnx-export';
import { ortRunEach } from './ort-backend';

/** One float32 LR patch in normalised units. */
export interface CalibrationPatch {
  data: Float32Array;
  height: number;
  width: number;
}

/** Min/max of every Conv's input and output over the patches, through the float graph's taps. */
export async function measureRanges(
  config: ModelConfig,
  weights: Weights,
  patches: Iterable<CalibrationPatch>,
  threads?: number,
): Promise<ConvRanges> {
  const model = exportOnnx(config, weights, { taps: true });
  const seen = new Map<string, Range>();
  await ortRunEach(
    model,
    patches,
    (outs) => {
      for (const [name, data] of Object.entries(outs)) {
        const cut = name.lastIndexOf(':');
        if (cut < 0) continue;
        const tap = name.slice(0, cut);
        const r = seen.get(tap) ?? [Infinity, -Infinity];
        seen.set(tap, name.endsWith(':min') ? [Math.min(r[0], data[0]!), r[1]] : [r[0], Math.max(r[1], data[0]!)]);
      }
    },
    threads,
  );
  const ranges: ConvRanges = {};
  for (const tap of seen.keys()) {
    const w = tap.slice(0, tap.lastIndexOf(':'));
    const input = seen.get(tapName(w, 'in'));
    const output = seen.get(tapName(w, 'out'));
    if (input && output) ranges[w] = { input, output };
  }
  return ranges;
}

/** Patches per training image: its 8x box-mean LR (what the evaluation feeds) and a native crop (what serving feeds). */
export const CALIBRATION_CROP = 96;

/**
 * The calibration patches of one image: the whole 8x box-mean LR, normalised by its own 0.1/99.9
 * percentiles as the evaluation does, and the native image's centre crop, normalised by the whole image's
 * percentiles as `phasesr sr` and the server do.
 */
export async function imagePatches(file: string): Promise<CalibrationPatch[]> {
  const pair = await loadEvalPair(file, 8);
  const lrNorm = await percentilesOf(pair.lr, pair.lrWidth, pair.lrHeight, pair.dtype, NORMALISATION_PERCENTILES);
  const c = Math.min(CALIBRATION_CROP, pair.width, pair.height);
  const x0 = (pair.width - c) >> 1;
  const y0 = (pair.height - c) >> 1;
  const crop = cropRect(pair.hr, pair.width, { x: x0, y: y0, w: c, h: c });
  const hrNorm = await percentilesOf(pair.hr, pair.width, pair.height, pair.dtype, NORMALISATION_PERCENTILES);
  return [
    { data: normalise(pair.lr, lrNorm.low, lrNorm.high), height: pair.lrHeight, width: pair.lrWidth },
    { data: normalise(crop, hrNorm.low, hrNorm.high), height: c, width: c },
  ];
}

/** Measures a model's calibration on image files (a split's train set): min/max over all their patches. */
export async function calibrate(
  config: ModelConfig,
  weights: Weights,
  weightsSha256: string,
  files: string[],
  opts: { threads?: number; log?: (l: string) => void } = {},
): Promise<Int8Calibration> {
  const patches: CalibrationPatch[] = [];
  for (const f of files) patches.push(...(await imagePatches(f)));
  const t0 = performance.now();
  const ranges = await measureRanges(config, weights, patches, opts.threads);
  opts.log?.(
    `calibrated ${Object.keys(ranges).length} convolutions on ${patches.length} patches in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
  return {
    format: INT8_CALIBRATION_FORMAT,
    formatVersion: 1,
    weightsSha256,
    method:
      `min/max of every Conv input and output (float32 graph) over ${files.length} image(s): each one's 8x ` +
      `box-mean LR (normalised by its 0.1/99.9 percentiles) and its native centre ${CALIBRATION_CROP}x${CALIBRATION_CROP} crop (normalised by the image's)`,
    created: new Date().toISOString(),
    ranges,
  };
}
