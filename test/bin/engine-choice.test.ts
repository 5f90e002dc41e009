// `--engine ort-webgpu` and `auto` from the command line where no GPU adapter exists (the Vulkan loader
// pointed at no driver): the explicit choice fails with a coded error and writes nothing; auto says it
// falls back, with the code, and does the work on the CPU engine.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { writeImage } from '../../models';
import { phasesr } from '../helpers/cli';
import { synthImage } from '../helpers/image';
import { tempDir } from '../helpers/shared';
import { tinyModelDir } from '../server/helpers';

const NO_ADAPTER = { VK_ICD_FILENAMES: '/nonexistent/no-driver.json' };
const dir = tempDir('phasesr-engine-test-');

async function input(): Promise<string> {
  const file = path.join(dir, 'in.tif');
  await writeImage(file, { width: 24, height: 20, dtype: 'uint16', data: Uint16Array.from(synthImage(24, 20, 2), (v) => Math.round(v)) });
  return file;
}

test('--engine ort-webgpu without an adapter: SR_ERR_ENGINE_UNAVAILABLE naming the cause and the fallback; no output', async () => {
  const out = path.join(dir, 'gpu.tif');
  const r = await phasesr(['sr', await input(), out, '--model', await tinyModelDir(), '--engine', 'ort-webgpu', '-q'], { env: NO_ADAPTER });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /\[SR_ERR_ENGINE_UNAVAILABLE\]/);
  assert.match(r.stderr, /no Vulkan driver/);
  assert.match(r.stderr, /--engine ort-cpu/);
  assert.equal(existsSync(out), false);
});

test('--engine auto without an adapter: falls back to the CPU, says so with the code, and writes the result', async () => {
  const out = path.join(dir, 'auto.tif');
  const r = await phasesr(['sr', await input(), out, '--model', await tinyModelDir(), '--engine', 'auto', '--scale', '2', '-q'], {
    env: NO_ADAPTER,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /SR_ERR_ENGINE_UNAVAILABLE: no hardware GPU .*using the CPU/);
  // the tiny model has no int8 calibration, so the CPU leg is float32, said with its own code
  assert.match(r.stderr, /SR_ERR_MODEL_CALIBRATION/);
  assert.match(r.stderr, /engine: ort-cpu/);
  assert.ok(existsSync(out));
});

test('phasesr info names the adapter, or why there is none', async () => {
  const none = JSON.parse((await phasesr(['info', '--json'], { env: NO_ADAPTER })).stdout);
  assert.deepEqual(none.gpuAdapters, []);
  assert.match(none.accelerators['ort-webgpu'], /^not available \(no Vulkan driver/);
  assert.equal(none.engine.auto, 'ort-int8');
  const here = JSON.parse((await phasesr(['info', '--json'])).stdout);
  assert.ok(here.gpuAdapters.length > 0, 'CI installs lavapipe');
  const a = here.gpuAdapters[0];
  assert.equal(typeof a.vendor, 'string');
  assert.ok(a.device.length > 0);
  assert.equal(a.software, a.type === 'cpu');
  assert.equal(here.engine.auto, a.software ? 'ort-int8' : 'ort-webgpu');
});
