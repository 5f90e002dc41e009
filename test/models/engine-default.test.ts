// The default engine (DEFAULT_ENGINE, auto): WebGPU on a hardware GPU; without one (CI has only lavapipe, a
// software adapter) a calibrated model gets the int8 engine; a model without a calibration, or with one
// measured for other weights, starts on ort-cpu (float32) and says so in one line with its code; asking for
// ort-int8 by name on such a model stays a coded error.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DEFAULT_ENGINE } from '../../models/engine/backend';
import { parseConfig, PRESETS } from '../../models/config';
import { createEngine } from '../../models/engine/create-engine';
import { hardwareAdapter } from '../../models/engine/gpu-adapter';
import { measureRanges } from '../../models/engine/int8-calibration';
import { CalibrationError, INT8_CALIBRATION_FORMAT, type Int8Calibration } from '../../models/engine/int8-calibration-file';
import { generatorParams, randomWeights } from '../../models/params';
import { synthImage } from '../helpers/image';

const cfg = parseConfig({ ...PRESETS.lite(8), name: 'tiny', widths: [8, 8, 8, 8] });
const weights = randomWeights(generatorParams(cfg), 5);
const ranges = await measureRanges(cfg, weights, [{ data: synthImage(32, 32, 3).map((v) => (v - 200) / 600), height: 32, width: 32 }], 1);
const cal: Int8Calibration = {
  format: INT8_CALIBRATION_FORMAT,
  formatVersion: 1,
  weightsSha256: 'a'.repeat(64),
  method: 'test',
  created: new Date().toISOString(),
  ranges,
};

async function start(int8: Int8Calibration | CalibrationError | undefined): Promise<{ engine: string; logs: string[] }> {
  const logs: string[] = [];
  const e = await createEngine(cfg, weights, { threads: 1, log: (l) => logs.push(l), ...(int8 ? { int8 } : {}) });
  const input = new Float32Array(24 * 24).fill(0.5);
  assert.equal((await e.run(input, 1, 24, 24)).at(-1)!.width, 24 * 8, 'the engine runs');
  await e.dispose();
  return { engine: e.engine, logs };
}

const gpu = hardwareAdapter();

test('the default engine is auto: without a hardware GPU a calibrated model gets ort-int8, and no coded line', async () => {
  assert.equal(DEFAULT_ENGINE, 'auto');
  const r = await start(cal);
  assert.equal(r.engine, gpu ? 'ort-webgpu' : 'ort-int8');
  // no GPU is the usual case, not an error: the default says so without a code
  assert.ok(!r.logs.some((l) => /SR_ERR_/.test(l)), r.logs.join('\n'));
  if (!gpu)
    assert.ok(
      r.logs.some((l) => /^engine auto: no hardware GPU .*using the CPU$/.test(l)),
      r.logs.join('\n'),
    );
});

test('no calibration, or a stale one: ort-cpu, with one SR_ERR_MODEL_CALIBRATION line naming the reason', async () => {
  for (const [int8, why] of [
    [undefined, /no int8 calibration/],
    [new CalibrationError('int8-calibration.json was measured for weights aaaa, not these'), /not these/],
  ] as const) {
    const r = await start(int8);
    if (gpu) {
      // the GPU engine needs no calibration
      assert.equal(r.engine, 'ort-webgpu');
      continue;
    }
    assert.equal(r.engine, 'ort-cpu');
    const lines = r.logs.filter((l) => l.includes('SR_ERR_MODEL_CALIBRATION'));
    assert.equal(lines.length, 1, r.logs.join('\n'));
    assert.match(lines[0]!, why);
    assert.match(lines[0]!, /using ort-cpu/);
  }
});

test('--engine ort-int8 by name on an uncalibrated model is still SR_ERR_MODEL_CALIBRATION', async () => {
  await assert.rejects(createEngine(cfg, weights, { engine: 'ort-int8', threads: 1, log: () => {} }), { code: 'SR_ERR_MODEL_CALIBRATION' });
});
