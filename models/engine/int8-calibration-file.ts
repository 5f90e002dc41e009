// The int8 engine's calibration as stored beside a model (int8-calibration.json): the activation range of
// every convolution's input and output, measured once on training images (int8-calibration.ts) and tied to
// the model's weights by their sha256, so serving never computes a scale.
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

export const INT8_CALIBRATION_FILE = 'int8-calibration.json';
export const INT8_CALIBRATION_FORMAT = 'phasesr-int8-calibration';

const RangeSchema = z.tuple([z.number(), z.number()]);
const CalibrationSchema = z.object({
  format: z.literal(INT8_CALIBRATION_FORMAT),
  formatVersion: z.literal(1),
  /** The weights these ranges were measured with (model.json's weights.sha256). */
  weightsSha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** How the ranges were measured, in words (images, patches, statistic). */
  method: z.string(),
  created: z.string(),
  ranges: z.record(z.string(), z.object({ input: RangeSchema, output: RangeSchema })),
});
export type Int8Calibration = z.infer<typeof CalibrationSchema>;

/** A model's int8 calibration is missing, malformed or for other weights. */
export class CalibrationError extends Error {
  readonly code = 'SR_ERR_MODEL_CALIBRATION';
}

/** Reads `dir`'s calibration; undefined when the model has none. @throws CalibrationError when it is malformed or for other weights */
export async function loadCalibration(dir: string, weightsSha256: string): Promise<Int8Calibration | undefined> {
  const file = path.join(dir, INT8_CALIBRATION_FILE);
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CalibrationError(`${file} is not JSON: ${(e as Error).message}`);
  }
  const r = CalibrationSchema.safeParse(parsed);
  if (!r.success)
    throw new CalibrationError(
      `${file} is not a ${INT8_CALIBRATION_FORMAT} file: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  if (r.data.weightsSha256 !== weightsSha256)
    throw new CalibrationError(
      `${file} was measured for weights ${r.data.weightsSha256.slice(0, 12)}, not these (${weightsSha256.slice(0, 12)}): run phasesr calibrate again`,
    );
  return r.data;
}

/** Writes a calibration beside the model (atomically, via rename). */
export async function saveCalibration(dir: string, cal: Int8Calibration): Promise<string> {
  const file = path.join(dir, INT8_CALIBRATION_FILE);
  const tmp = `${file}.${process.pid}.partial`;
  await writeFile(tmp, `${JSON.stringify(CalibrationSchema.parse(cal), null, 1)}\n`);
  await rename(tmp, file);
  return file;
}
