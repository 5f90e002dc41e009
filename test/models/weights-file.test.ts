// The model file format: round trip, and refusal (never a silent load) of tampered or mismatched files.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, PRESETS } from '../../models/config';
import { generatorParams, randomWeights } from '../../models/params';
import { loadModel, type ModelFileError, saveModel } from '../../models/weights-file';
import { tempDir } from '../helpers/shared';

const cfg = parseConfig({ ...PRESETS.lite(2), widths: [4, 3] });
const prov = { trained: false, description: 'test', created: new Date(0).toISOString() };

test('save then load gives back the config and every tensor exactly', async () => {
  const dir = path.join(tempDir(), 'm');
  const w = randomWeights(generatorParams(cfg), 3);
  const sha = await saveModel(dir, cfg, w, prov);
  const m = await loadModel(dir);
  assert.equal(m.sha256, sha);
  assert.deepEqual(m.config, cfg);
  assert.equal(m.weights.size, w.size);
  for (const [k, t] of w) assert.deepEqual(m.weights.get(k), t);
});

test('a changed weights byte is a hash error; a wrong shape or missing file is a format error', async () => {
  const dir = path.join(tempDir(), 'm');
  await saveModel(dir, cfg, randomWeights(generatorParams(cfg), 3), prov);
  const bin = path.join(dir, 'weights.bin');
  const bytes = readFileSync(bin);
  bytes[10]! ^= 1;
  writeFileSync(bin, bytes);
  await assert.rejects(loadModel(dir), (e: ModelFileError) => e.code === 'SR_ERR_MODEL_HASH');

  const dir2 = path.join(tempDir(), 'm2');
  const bigger = parseConfig({ ...cfg, widths: [5, 3] });
  await saveModel(dir2, cfg, randomWeights(generatorParams(cfg), 3), prov);
  const json = JSON.parse(readFileSync(path.join(dir2, 'model.json'), 'utf8'));
  json.config = bigger;
  writeFileSync(path.join(dir2, 'model.json'), JSON.stringify(json));
  await assert.rejects(loadModel(dir2), (e: ModelFileError) => e.code === 'SR_ERR_MODEL_FORMAT' && /shape/.test(e.message));

  await assert.rejects(loadModel(path.join(tempDir(), 'nothing')), (e: ModelFileError) => e.code === 'SR_ERR_MODEL_NOT_FOUND');
  writeFileSync(path.join(dir2, 'model.json'), '{"format": "something-else"}');
  await assert.rejects(loadModel(dir2), (e: ModelFileError) => e.code === 'SR_ERR_MODEL_FORMAT');
});
