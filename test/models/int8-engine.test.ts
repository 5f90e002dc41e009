// The static int8 engine: ORT fuses every quantised Conv into an int8 kernel (QLinearConv); tiled output
// equals whole-image output at several tile sizes (the scales are constants, so tiles cannot disagree);
// int8 differs from float32, by a bounded amount; a model without (or with a stale) calibration is refused.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { PRESETS } from '../../models/config';
import { createEngine } from '../../models/engine/create-engine';
import { measureRanges } from '../../models/engine/int8-calibration';
import {
  INT8_CALIBRATION_FILE,
  INT8_CALIBRATION_FORMAT,
  loadCalibration,
  type Int8Calibration,
} from '../../models/engine/int8-calibration-file';
import { int8PerChannel, uint8Params } from '../../models/engine/int8-quantize';
import { exportOnnx } from '../../models/engine/onnx-export';
import { keepFloat, OrtBackend, ortOptimisedOps } from '../../models/engine/ort-backend';
import { generatorParams, initWeights } from '../../models/params';
import { loadModel, saveModel } from '../../models/weights-file';
import { superResolve, type OutputBand } from '../../models/pipeline/super-resolve';
import { memoryReader, synthImage } from '../helpers/image';

const W = 70,
  H = 66;
const image = synthImage(W, H, 3);
const src = memoryReader(image, W, H);
const norm = (a: Float32Array): Float32Array => a.map((v) => (v - 200) / 600);
const cfg = PRESETS.body(8);
// He-style initialisation, with the convs it starts at zero (each body block's last, each level's projection
// to the image) made non-zero: otherwise the output would be the bilinear skip path alone.
const weights = initWeights(generatorParams(cfg), 5, cfg.leakySlope);
for (const [name, t] of weights)
  if (/^g\.body\d\.z\.w$|\.proj\.w$/.test(name))
    t.data.forEach((_, i) => {
      t.data[i] = Math.sin(i * 0.7) * 0.05;
    });
const sha = 'a'.repeat(64);
const ranges = await measureRanges(
  cfg,
  weights,
  [
    { data: norm(image), height: H, width: W },
    { data: norm(synthImage(40, 40, 7)), height: 40, width: 40 },
  ],
  1,
);
const cal: Int8Calibration = {
  format: INT8_CALIBRATION_FORMAT,
  formatVersion: 1,
  weightsSha256: sha,
  method: 'test',
  created: new Date().toISOString(),
  ranges,
};
const int8 = await OrtBackend.create(cfg, weights, { engine: 'ort-int8', threads: 1, int8: cal });
const fp32 = await OrtBackend.create(cfg, weights, { engine: 'ort-cpu', threads: 1 });
after(async () => {
  await int8.dispose();
  await fp32.dispose();
});

async function render(backend: OrtBackend, level: number, tile: number): Promise<Float32Array> {
  const s = 2 ** level;
  const out = new Float32Array(W * s * H * s);
  await superResolve(src, backend, { tile, level, low: 200, high: 800, batch: 2 }, async (b: OutputBand) => out.set(b.data, b.y * b.width));
  return out;
}
const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test('quantisation parameters: zero is exact, weights round to within half a step', () => {
  for (const r of [
    [-0.3, 4.1],
    [0.5, 2],
    [-3, -1],
  ] as [number, number][]) {
    const { scale, zeroPoint } = uint8Params(r);
    assert.ok(Number.isInteger(zeroPoint) && zeroPoint >= 0 && zeroPoint <= 255);
    assert.ok(Math.abs(Math.min(r[0], 0) / scale + zeroPoint) <= 0.5 + 1e-9, 'the range minimum maps inside uint8');
  }
  const w = Float32Array.from({ length: 2 * 9 }, (_, i) => (i < 9 ? Math.sin(i) : 100 * Math.cos(i)));
  const { q, scales } = int8PerChannel(w, 2);
  assert.ok(scales[1]! > 50 * scales[0]!, 'one scale per output channel');
  for (let i = 0; i < w.length; i++) {
    const s = scales[i < 9 ? 0 : 1]!;
    assert.ok(Math.abs(q[i]! * s - w[i]!) <= s / 2 + 1e-6);
    assert.ok(Math.abs(q[i]!) <= 127);
  }
});

test('ORT runs every quantised convolution as an int8 kernel (QLinearConv)', async () => {
  const convs = Object.keys(ranges);
  const quantised = convs.filter((w) => !keepFloat(cfg)(w));
  assert.equal(convs.length, 24, 'every Conv of body was calibrated');
  assert.equal(quantised.length, 20);
  const ops = await ortOptimisedOps(exportOnnx(cfg, weights, { int8: { ranges, keepFloat: keepFloat(cfg) } }));
  const qconv = Object.entries(ops)
    .filter(([k]) => k.endsWith('QLinearConv'))
    .reduce((a, [, n]) => a + n, 0);
  assert.equal(qconv, quantised.length, JSON.stringify(ops));
  const floatConvs = Object.entries(ops)
    .filter(([k]) => /(^|:)Conv$/.test(k))
    .reduce((a, [, n]) => a + n, 0);
  assert.equal(floatConvs, convs.length - quantised.length, 'only the kept convolutions stay float32');
});

for (const tile of [16, 24, 48]) {
  test(`int8: tiles of ${tile} equal the whole image at 2x, 4x and 8x`, async () => {
    for (const level of [1, 2, 3]) {
      const d = maxDiff(await render(int8, level, 1000), await render(int8, level, tile));
      assert.ok(d <= 1e-5, `level ${level}: max abs diff ${d}`);
    }
  });
}

test('int8 differs from float32, by a bounded amount (reported)', async () => {
  const a = await render(fp32, 3, 1000);
  const b = await render(int8, 3, 1000);
  const d = maxDiff(a, b);
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i]! - b[i]!) ** 2;
  const rms = Math.sqrt(se / a.length);
  process.stderr.write(
    `int8 vs float32 at 8x (random weights, normalised units): max ${d.toExponential(2)}, rms ${rms.toExponential(2)}\n`,
  );
  assert.ok(d > 1e-5, 'the int8 graph really is quantised');
  assert.ok(rms < 0.02, `rms ${rms}`);
});

test('ort-int8 without a calibration, or with one for other weights, is a coded error', async () => {
  await assert.rejects(createEngine(cfg, weights, { engine: 'ort-int8', threads: 1, log: () => {} }), { code: 'SR_ERR_MODEL_CALIBRATION' });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'phasesr-cal-'));
  await writeFile(path.join(dir, INT8_CALIBRATION_FILE), JSON.stringify(cal));
  assert.equal((await loadCalibration(dir, sha))?.weightsSha256, sha);
  await assert.rejects(loadCalibration(dir, 'b'.repeat(64)), { code: 'SR_ERR_MODEL_CALIBRATION' });
  await writeFile(path.join(dir, INT8_CALIBRATION_FILE), '{"format": "phasesr-int8-calibration"}');
  await assert.rejects(loadCalibration(dir, sha), { code: 'SR_ERR_MODEL_CALIBRATION' });
  assert.equal(await loadCalibration(os.tmpdir(), sha), undefined, 'no file: no calibration');
});

test('a stale calibration beside new weights stops only the int8 engine: the model loads, fp32 runs, int8 names the stale file', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'phasesr-stale-'));
  await saveModel(dir, cfg, weights, { trained: false, description: 'test', created: new Date(0).toISOString() });
  await writeFile(path.join(dir, INT8_CALIBRATION_FILE), JSON.stringify(cal)); // measured for other weights (sha 'aaa…')
  const m = await loadModel(dir); // retrained weights copied over a calibrated model: this used to throw
  const fp32 = await createEngine(m.config, m.weights, { int8: m.int8, engine: 'ort-cpu', threads: 1, log: () => {} });
  await fp32.dispose();
  await assert.rejects(createEngine(m.config, m.weights, { int8: m.int8, engine: 'ort-int8', threads: 1, log: () => {} }), {
    code: 'SR_ERR_MODEL_CALIBRATION',
    message: /was measured for weights a{12}, not these/,
  });
});
