// The `phasesr` command line end to end: help for every subcommand, info, sample, sr with pixel size,
// and bad input (clear coded error, non-zero exit, no output file left behind).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync, copyFileSync, mkdirSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { ImageSource } from '../../models/io/image-source';
import { TiffWriter } from '../../models/io/tiff-writer';
import { PRESETS } from '../../models/config';
import { generatorParams, randomWeights } from '../../models/params';
import { saveModel } from '../../models/weights-file';
import { phasesr } from '../helpers/cli';
import { DATA, ROOT, tempDir } from '../helpers/shared';

const dir = tempDir();

test('every subcommand has --help', async () => {
  const top = await phasesr(['--help']);
  assert.equal(top.code, 0);
  for (const cmd of ['sr', 'info', 'sample', 'export', 'init', 'start']) {
    assert.match(top.stdout, new RegExp(`\\n  ${cmd}\\b`));
    const r = await phasesr([cmd, '--help']);
    assert.equal(r.code, 0, `${cmd} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^Usage: phasesr ${cmd}`));
  }
});

test('info reports the default engine, accelerators and the trained shipped model', async () => {
  const r = await phasesr(['info', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.equal(info.engine.default, 'auto');
  // CI has only lavapipe, a software adapter: the default then takes the CPU's best
  assert.equal(info.engine.auto, info.gpuAdapters.some((a: { software: boolean }) => !a.software) ? 'ort-webgpu' : 'ort-int8');
  assert.ok(info.engine.threads >= 1);
  assert.match(info.versions.onnxruntime, /^\d+\.\d+/);
  for (const k of ['ort-cuda', 'tfjs-node-gpu', 'tfjs-node', 'tfjs-wasm']) assert.equal(typeof info.accelerators[k], 'string');
  const lite = info.models.find((m: { name: string }) => m.name === 'lite');
  assert.ok(lite, 'the lite model ships');
  // The shipped lite is trained (models/shipped/lite/README.md); an untrained one must say so loudly.
  assert.equal(lite.trained, true);
  assert.match(lite.summary, /trained \(best validation PSNR/);
  assert.doesNotMatch(lite.summary, /UNTRAINED/);
  // Each model's own auto choice: int8 needs the calibration beside its weights (createEngine's rule).
  const hardware = info.gpuAdapters.some((a: { software: boolean }) => !a.software);
  for (const m of info.models) {
    const calibrated = existsSync(path.join(ROOT, `models/shipped/${m.name}/int8-calibration.json`));
    assert.equal(m.auto, hardware ? 'ort-webgpu' : calibrated ? 'ort-int8' : 'ort-cpu', m.name);
  }
  const text = await phasesr(['info']);
  assert.match(text.stdout, /engine: auto \(default\): ort-(int8|webgpu) here for the default model/);
});

test('sample writes a 16-bit image with its pixel size', async () => {
  const out = path.join(dir, 'sample.tif');
  const r = await phasesr(['sample', '--out', out, '--size', '96x80', '--seed', '3']);
  assert.equal(r.code, 0, r.stderr);
  const src = await ImageSource.open(out);
  assert.deepEqual([src.width, src.height, src.dtype], [96, 80, 'uint16']);
  assert.ok(Math.abs(src.pixelSize!.x - 0.87) < 1e-6);
  assert.equal(src.pixelSize!.unit, 'µm');
  await src.close();
  const bad = await phasesr(['sample', '--out', out, '--size', '0x5']);
  assert.notEqual(bad.code, 0);
});

/** A 16-bit test input with an ImageJ calibration: a crop of a real image when ../shared is there. */
async function calibratedInput(name: string, w: number, h: number): Promise<string> {
  const real = path.join(DATA, 'val', 'usiigaci-set46.png');
  let data: Uint16Array;
  if (existsSync(real)) {
    const { data: buf } = await sharp(real)
      .extract({ left: 300, top: 400, width: w, height: h })
      .toColourspace('grey16')
      .raw({ depth: 'ushort' })
      .toBuffer({ resolveWithObject: true });
    data = new Uint16Array(buf.buffer, buf.byteOffset, w * h);
  } else {
    data = Uint16Array.from({ length: w * h }, (_, i) => 30000 + 5000 * Math.sin(i * 0.1));
  }
  const file = path.join(dir, name);
  const wr = await TiffWriter.create(file, { width: w, height: h, dtype: 'uint16', pixelSize: { x: 0.87, y: 0.87, unit: 'µm' } });
  await wr.writeRows(data);
  await wr.finish();
  return file;
}

test('sr makes an 8x uint16 image with the pixel size divided by 8, tiled like whole', async () => {
  const input = await calibratedInput('in.tif', 40, 36);
  const tiled = path.join(dir, 'out-tiled.tif');
  const r = await phasesr(['sr', input, tiled, '--scale', '8', '--tile', '16', '-q']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /engine: ort-int8/);
  const out = await ImageSource.open(tiled);
  assert.deepEqual([out.width, out.height, out.dtype], [320, 288, 'uint16']);
  assert.ok(Math.abs(out.pixelSize!.x - 0.87 / 8) < 1e-6 && Math.abs(out.pixelSize!.y - 0.87 / 8) < 1e-6);
  assert.equal(out.pixelSize!.unit, 'µm');
  const whole = path.join(dir, 'out-whole.tif');
  assert.equal((await phasesr(['sr', input, whole, '--tile', '512', '-q'])).code, 0);
  const a = await out.readRegion(0, 0, 320, 288);
  const b = await (await ImageSource.open(whole)).readRegion(0, 0, 320, 288);
  assert.deepEqual(a, b);

  const x2 = path.join(dir, 'out-x2.png');
  const r2 = await phasesr(['sr', input, x2, '--scale', '2', '-q']);
  assert.equal(r2.code, 0, r2.stderr);
  const meta = await sharp(x2).metadata();
  assert.deepEqual([meta.width, meta.height, meta.depth], [80, 72, 'ushort']);

  const f32 = path.join(dir, 'out-f32.tif');
  assert.equal((await phasesr(['sr', input, f32, '--scale', '4', '--float32', '-q'])).code, 0);
  assert.equal((await ImageSource.open(f32)).dtype, 'float32');
});

test('--engine tfjs (the reference runtime) gives the same image as the ONNX engine', async () => {
  const input = await calibratedInput('eng.tif', 20, 18);
  // Random weights everywhere (the shipped untrained model would reduce both to a bilinear upsample).
  const cfg = PRESETS.lite(8);
  const model = path.join(dir, 'random-model');
  await saveModel(model, cfg, randomWeights(generatorParams(cfg), 5), { trained: false, description: 'test', created: '' });
  const ort = path.join(dir, 'eng-ort.tif');
  const tfjs = path.join(dir, 'eng-tfjs.tif');
  assert.equal((await phasesr(['sr', input, ort, '--scale', '4', '--float32', '--model', model, '-q'])).code, 0);
  const r = await phasesr(['sr', input, tfjs, '--scale', '4', '--float32', '--engine', 'tfjs', '--model', model, '-q']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /engine: tfjs-(wasm|node|node-gpu)/);
  const a = await (await ImageSource.open(ort)).readRegion(0, 0, 80, 72);
  const b = await (await ImageSource.open(tfjs)).readRegion(0, 0, 80, 72);
  // float32 output in 16-bit units: 1e-4 of the normalised range is ~5 units here.
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  assert.ok(d < 5, `max abs diff ${d}`);
  const bilinear = path.join(dir, 'eng-untrained.tif');
  assert.equal((await phasesr(['sr', input, bilinear, '--scale', '4', '--float32', '-q'])).code, 0);
  const c = await (await ImageSource.open(bilinear)).readRegion(0, 0, 80, 72);
  assert.ok(
    a.some((v, i) => Math.abs(v - c[i]!) > 50),
    'the random model differs from bilinear',
  );
});

test('bad input: a coded error, a non-zero exit, and no output left behind', async () => {
  const bad = path.join(dir, 'bad');
  mkdirSync(bad);
  const good = await calibratedInput('good.tif', 24, 24);
  const cases: [string, string[], RegExp][] = [];
  const corrupt = path.join(bad, 'corrupt.tif');
  writeFileSync(corrupt, Buffer.concat([Buffer.from([0x49, 0x49, 42, 0, 8, 0, 0, 0]), Buffer.alloc(200, 0xab)]));
  cases.push(['corrupt TIFF', [corrupt, path.join(bad, 'o1.tif')], /SR_ERR_IMAGE_DECODE/]);
  const empty = path.join(bad, 'empty.png');
  writeFileSync(empty, '');
  cases.push(['empty file', [empty, path.join(bad, 'o2.tif')], /SR_ERR_IMAGE_DECODE/]);
  const text = path.join(bad, 'notes.tif');
  writeFileSync(text, 'these are not pixels\n');
  cases.push(['not an image', [text, path.join(bad, 'o3.tif')], /SR_ERR_IMAGE_DECODE/]);
  cases.push(['missing input', [path.join(bad, 'nope.tif'), path.join(bad, 'o4.tif')], /no such input file: .*\[SR_ERR_USAGE\]/]);
  cases.push(['output in a missing folder', [good, path.join(bad, 'no', 'such', 'dir', 'o5.tif')], /SR_ERR_IO/]);
  cases.push(['unknown output format', [good, path.join(bad, 'o6.bmp')], /SR_ERR_OUTPUT_FORMAT/]);
  cases.push(['missing model', [good, path.join(bad, 'o7.tif'), '--model', path.join(bad, 'nomodel')], /SR_ERR_MODEL_NOT_FOUND/]);
  cases.push(['bad scale', [good, path.join(bad, 'o8.tif'), '--scale', '3'], /scale/]);
  cases.push(['bad tile', [good, path.join(bad, 'o9.tif'), '--tile', 'big'], /tile/]);
  const before = new Set(readdirSync(bad));
  for (const [what, args, pattern] of cases) {
    const r = await phasesr(['sr', ...args, '-q']);
    assert.notEqual(r.code, 0, `${what}: exit 0`);
    assert.match(r.stderr, pattern, `${what}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: a stack trace instead of a message`);
  }
  assert.deepEqual(new Set(readdirSync(bad)), before, 'no output or partial file was left');

  // An unwritable folder (as root, permissions do not bind, so use a path under a file instead).
  const ro = path.join(bad, 'file-not-dir');
  copyFileSync(good, ro);
  chmodSync(ro, 0o444);
  const r = await phasesr(['sr', good, path.join(ro, 'out.tif'), '-q']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /SR_ERR_IO/);
});

test('an interrupted sr (SIGTERM mid-run) exits 130 and leaves no output or partial file', async () => {
  const out = path.join(dir, 'killed');
  mkdirSync(out);
  const input = path.join(dir, 'kill-in.tif');
  assert.equal((await phasesr(['sample', '--out', input, '--size', '256x256'])).code, 0);
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'phasesr.js'), 'sr', input, path.join(out, 'x8.tif'), '-q']);
  let stderr = '';
  const code = await new Promise<number | null>((resolve) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      // Kill once the engine runs: the output file is then open.
      if (/engine:/.test(stderr) && !child.killed) child.kill('SIGTERM');
    });
    child.on('exit', (c) => resolve(c));
  });
  assert.equal(code, 130, stderr);
  assert.match(stderr, /SR_ERR_INTERRUPTED/);
  assert.deepEqual(readdirSync(out), []);
});
