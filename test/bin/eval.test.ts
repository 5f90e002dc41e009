// `phasesr eval` end to end: a folder of two small 16-bit images (PNG and TIFF), an untrained model made by
// `phasesr init`, the JSON and markdown it writes, and clear errors for bad input.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSampleFile } from '../../models/sample/sample-file';
import { phasesr } from '../helpers/cli';
import { tempDir } from '../helpers/shared';

const dir = tempDir();

interface Row {
  image: string;
  psnr: number | null;
  ssim: number;
}
interface Method {
  method: string;
  kind: string;
  images: Row[];
  mean: { psnr: number; ssim: number };
  gainOverBicubicDb: number;
}
interface Level {
  level: number;
  upscale: number;
  methods: Method[];
}

test('eval scores bicubic, lanczos3 and a model per image and on average, at 8x, 4x and 2x', async () => {
  const data = path.join(dir, 'data');
  mkdirSync(data);
  await writeSampleFile(path.join(data, 'b-cells.png'), { width: 128, height: 96, seed: 1 });
  await writeSampleFile(path.join(data, 'a-cells.tif'), { width: 124, height: 100, seed: 2 }); // cropped to 120x96
  const model = path.join(dir, 'untrained');
  const init = await phasesr(['init', '--out', model, '--seed', '5']);
  assert.equal(init.code, 0, init.stderr);

  const out = path.join(dir, 'results', 'run');
  const r = await phasesr(['eval', '--data', data, '--model', model, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as {
    scale: number;
    images: { name: string; width: number; height: number }[];
    levels: Level[];
    models: { label: string; trained: boolean }[];
  };
  assert.equal(report.scale, 8);
  assert.deepEqual(
    report.images.map((i) => [i.name, i.width, i.height]),
    [
      ['a-cells.tif', 120, 96],
      ['b-cells.png', 128, 96],
    ],
  );
  assert.deepEqual(
    report.models.map((m) => [m.label, m.trained]),
    [['untrained', false]],
  );
  assert.deepEqual(
    report.levels.map((l) => l.upscale),
    [8, 4, 2],
  );
  for (const level of report.levels) {
    assert.deepEqual(
      level.methods.map((m) => [m.method, m.kind]),
      [
        ['bicubic', 'baseline'],
        ['lanczos3', 'baseline'],
        ['untrained', 'model'],
      ],
    );
    const bicubic = level.methods[0]!.mean.psnr;
    for (const m of level.methods) {
      assert.deepEqual(
        m.images.map((row) => row.image),
        ['a-cells.tif', 'b-cells.png'],
      );
      for (const row of m.images) {
        assert.ok(typeof row.psnr === 'number' && row.psnr > 5 && row.psnr < 80, `${m.method} ${row.image} psnr ${row.psnr}`);
        assert.ok(row.ssim > 0 && row.ssim < 1, `${m.method} ${row.image} ssim ${row.ssim}`);
      }
      const avg = (k: 'psnr' | 'ssim'): number => m.images.reduce((s, row) => s + (row[k] as number), 0) / m.images.length;
      assert.ok(Math.abs(m.mean.psnr - avg('psnr')) < 1e-9 && Math.abs(m.mean.ssim - avg('ssim')) < 1e-12, m.method);
      assert.ok(Math.abs(m.gainOverBicubicDb - (m.mean.psnr - bicubic)) < 1e-9);
    }
  }
  // The printed markdown is the file's, with mean and gain rows for every level.
  const md = readFileSync(`${out}.md`, 'utf8');
  assert.equal(r.stdout, md);
  assert.equal(md.match(/\| \*\*mean\*\* \|/g)?.length, 6); // PSNR and SSIM tables x 3 levels
  assert.equal(md.match(/\| gain over bicubic \(dB\) \| \+0\.00 \|/g)?.length, 3);
  assert.match(md, /\| a-cells\.tif \| \d+\.\d\d \| \d+\.\d\d \| \d+\.\d\d \|/);
  assert.match(md, /UNTRAINED/);
});

test('eval without a valid data folder or model fails clearly, writing nothing', async () => {
  const out = path.join(dir, 'bad');
  const missing = await phasesr(['eval', '--data', path.join(dir, 'no-such-folder'), '--out', out]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /data folder not found: .*no-such-folder \[SR_ERR_EVAL_DATA\]/);
  const empty = path.join(dir, 'empty');
  mkdirSync(empty);
  const none = await phasesr(['eval', '--data', empty, '--out', out]);
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /no .png\/.tif\/.tiff images/);
  const noData = await phasesr(['eval']);
  assert.notEqual(noData.code, 0);
  assert.match(noData.stderr, /--data <dir>/);
  // A valid data folder (the first test's), so that the model is what fails: eval checks --data first.
  const badModel = await phasesr(['eval', '--data', path.join(dir, 'data'), '--model', path.join(dir, 'no-model'), '--out', out]);
  assert.notEqual(badModel.code, 0);
  assert.match(badModel.stderr, /SR_ERR_MODEL/);
  // A pitch of 1 is the recording itself, and below 0.5 the interpolation would invent the field.
  for (const p of ['1', '0.4', '5']) {
    const bad = await phasesr(['eval', '--data', path.join(dir, 'data'), '--condition', 'other-scope', '--scope-pitch', p, '--out', out]);
    assert.notEqual(bad.code, 0, `--scope-pitch ${p}`);
    assert.match(bad.stderr, /--scope-pitch.*pixel pitches from 0.5 to 4 other than 1/);
  }
  assert.ok(!existsSync(`${out}.json`) && !existsSync(`${out}.md`));
});
