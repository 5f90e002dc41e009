// `phasesr calibrate` as a user runs it: before it, --engine ort-int8 refuses the model with a coded error;
// it reads the split's train set, writes int8-calibration.json beside the model, and then the int8 engine
// runs on that model. A split naming missing images fails with a coded error and writes no calibration.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';

import { writeImage } from '../../models';
import { INT8_CALIBRATION_FILE } from '../../models/engine/int8-calibration-file';
import { phasesr } from '../helpers/cli';
import { synthImage } from '../helpers/image';
import { tempDir } from '../helpers/shared';
import { tinyModelDir } from '../server/helpers';

const dir = tempDir('phasesr-calibrate-test-');

async function image(name: string, w: number, h: number, seed: number): Promise<string> {
  const file = path.join(dir, name);
  await writeImage(file, { width: w, height: h, dtype: 'uint16', data: Uint16Array.from(synthImage(w, h, seed), (v) => Math.round(v)) });
  return file;
}

test('calibrate writes the ranges beside the model, and ort-int8 then runs on it', async () => {
  const model = await tinyModelDir();
  const input = await image('in.tif', 40, 32, 7);
  await image('a.tif', 128, 128, 1);
  await image('b.tif', 96, 136, 2);
  await image('c.tif', 64, 64, 3);
  const split = path.join(dir, 'split.json');
  await writeFile(split, JSON.stringify({ description: 'test', train: ['a.tif', 'b.tif'], val: ['c.tif'], test: ['in.tif'] }));

  const before = await phasesr(['sr', input, path.join(dir, 'before.tif'), '--model', model, '--engine', 'ort-int8', '-q']);
  assert.equal(before.code, 1, before.stderr);
  assert.match(before.stderr, /SR_ERR_MODEL_CALIBRATION/);

  const r = await phasesr(['calibrate', '--model', model, '--data', dir, '--split', split, '--threads', '1']);
  assert.equal(r.code, 0, r.stderr);
  const file = path.join(model, INT8_CALIBRATION_FILE);
  assert.ok(existsSync(file), r.stderr);
  const cal = JSON.parse(readFileSync(file, 'utf8')) as {
    weightsSha256: string;
    ranges: Record<string, { input: [number, number]; output: [number, number] }>;
  };
  const modelJson = JSON.parse(readFileSync(path.join(model, 'model.json'), 'utf8')) as { weights: { sha256: string } };
  // Tied to these weights; two patches per image (box-mean LR and native crop); a real range per convolution.
  assert.equal(cal.weightsSha256, modelJson.weights.sha256);
  assert.match(r.stderr, /on 4 patches/);
  const ranges = Object.values(cal.ranges);
  assert.ok(ranges.length >= 8, `${ranges.length} convolutions calibrated`);
  for (const { input, output } of ranges) assert.ok(input[0] < input[1] && output[0] < output[1]);

  const out = path.join(dir, 'after.tif');
  const after = await phasesr(['sr', input, out, '--model', model, '--engine', 'ort-int8', '-q']);
  assert.equal(after.code, 0, after.stderr);
  assert.ok(existsSync(out));
});

test('calibrate on a split whose images are missing: a coded error, no calibration written', async () => {
  const model = path.join(dir, 'copy-model');
  const { cpSync } = await import('node:fs');
  cpSync(await tinyModelDir(), model, { recursive: true });
  const file = path.join(model, INT8_CALIBRATION_FILE);
  if (existsSync(file)) (await import('node:fs')).rmSync(file);
  const split = path.join(dir, 'missing.json');
  await writeFile(split, JSON.stringify({ description: 'test', train: ['nope.tif'], val: ['c.tif'], test: ['in.tif'] }));
  const r = await phasesr(['calibrate', '--model', model, '--data', dir, '--split', split]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /\[SR_ERR_[A-Z_]+\]/);
  assert.equal(existsSync(file), false);
});
