// The evaluation's engine (models/eval/eval-engine.ts), which the scores and both figures share: int8 on a
// calibrated model by default, float32 with a logged reason on an uncalibrated one, and the engine asked for.
import assert from 'node:assert/strict';
import { cp } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';

import { resolveModel } from '../../../models';
import { calibrate } from '../../../models/engine/int8-calibration';
import { saveCalibration } from '../../../models/engine/int8-calibration-file';
import { evalEngine } from '../../../models/eval/eval-engine';
import { tempDir } from '../../helpers/shared';
import { testImage, tinyModelDir } from '../../server/helpers';

test('evalEngine: int8 on a calibrated model, float32 (logged) without a calibration, the engine asked for', async () => {
  const plain = await resolveModel(await tinyModelDir());
  const dir = path.join(tempDir('phasesr-eval-engine-'), 'tiny-int8');
  await cp(plain.dir, dir, { recursive: true });
  const { file } = await testImage(96, 80, 4);
  await saveCalibration(dir, await calibrate(plain.config, plain.weights, plain.sha256, [file], { threads: 1 }));
  const calibrated = await resolveModel(dir);
  const engineOf = async (m: typeof plain, o: Parameters<typeof evalEngine>[1] = {}): Promise<string> => {
    const e = await evalEngine(m, { threads: 1, ...o });
    try {
      return e.engine;
    } finally {
      await e.dispose();
    }
  };
  assert.equal(await engineOf(calibrated), 'ort-int8');
  const logs: string[] = [];
  assert.equal(await engineOf(plain, { log: (l) => logs.push(l) }), 'ort-cpu');
  assert.ok(
    logs.some((l) => l.includes('SR_ERR_MODEL_CALIBRATION')),
    logs.join('\n'),
  );
  assert.equal(await engineOf(calibrated, { engine: 'ort-cpu' }), 'ort-cpu');
});
