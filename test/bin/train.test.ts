// `phasesr train` end to end as a user runs it: a tiny folder, two workers, a model that `phasesr sr` loads.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import { writeImage } from '../../models/io/write-image';
import type { EpochRecord } from '../../models/train/checkpoint';
import { loadModel } from '../../models/weights-file';
import { phasesr } from '../helpers/cli';
import { synthImage } from '../helpers/image';
import { tempDir } from '../helpers/shared';

const root = tempDir();
const data = path.join(root, 'data');

before(async () => {
  await fs.mkdir(data);
  for (const s of [1, 2]) {
    const px = Uint16Array.from(synthImage(64, 56, s), (v) => Math.round(v * 40));
    await writeImage(path.join(data, `f${s}.tif`), { width: 64, height: 56, dtype: 'uint16', data: px });
  }
});

test('train runs on two workers, validates, keeps the best model, and sr uses it', async () => {
  const out = path.join(root, 'run');
  const r = await phasesr(
    [
      'train',
      '--data',
      data,
      '--val',
      data,
      '--out',
      out,
      '--steps',
      '2',
      '--steps-per-epoch',
      '1',
      '--batch',
      '2',
      '--crop',
      '32',
      '--loss',
      'full',
      '--seed',
      '3',
    ],
    { timeoutMs: 300_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /with 2 worker\(s\), batch 2, crop 32/);
  assert.match(r.stderr, /epoch 2 \(step 2\): val PSNR [\d.]+ dB \(bicubic [\d.]+/);
  const best = await loadModel(path.join(out, 'best'));
  assert.equal(best.provenance.trained, true);
  assert.match(best.provenance.command ?? '', /^phasesr train --data /);
  // An 8x run validates six conditions every epoch, and its best/ is chosen by all six.
  assert.match(best.provenance.description, /across 6 conditions/);
  const history = JSON.parse(await fs.readFile(path.join(out, 'history.json'), 'utf8')) as EpochRecord[];
  assert.deepEqual(
    history.map((h) => h.step),
    [1, 2],
  );
  for (const h of history) {
    assert.ok(Number.isFinite(h.blurNoise?.psnr) && Number.isFinite(h.otherScope?.psnr), 'blur-noise and other-scope at pitch 2');
    assert.deepEqual(
      h.otherScopeAt?.map((c) => c.pitch),
      [1.5, 0.75, 0.5],
    );
    assert.ok(h.otherScopeAt!.every((c) => Number.isFinite(c.psnr) && Number.isFinite(c.bicubicPsnr)));
  }
  assert.match(
    r.stderr,
    /other-scope [\d.]+ dB \([+-][\d.]+\), SSIM [\d.]+ \(bicubic [\d.]+\); at pitch 1\.5 [+-][\d.]+, 0\.75 [+-][\d.]+, 0\.5 [+-][\d.]+/,
  );
  const sr = await phasesr(['sr', path.join(data, 'f1.tif'), path.join(root, 'f1-x8.tif'), '--model', path.join(out, 'best'), '-q']);
  assert.equal(sr.code, 0, sr.stderr);
  assert.match(sr.stderr, /wrote .*512x448 uint16/);
});

test('train refuses what it cannot do, with a clear message', async () => {
  const none = await phasesr(['train', '--data', data, '--out', path.join(root, 'nothing'), '--resume']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /nothing to resume/);
  const odd = await phasesr(['train', '--data', data, '--out', path.join(root, 'odd'), '--batch', '3', '--workers', '2', '--crop', '32']);
  assert.equal(odd.code, 2);
  assert.match(odd.stderr, /--batch 3 must be a multiple of --workers 2/);
  const missing = await phasesr(['train', '--data', path.join(root, 'nope'), '--out', path.join(root, 'missing')]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /data folder not found/);
  const big = await phasesr(['train', '--data', data, '--out', path.join(root, 'big'), '--crop', '128']);
  assert.equal(big.code, 2);
  assert.match(big.stderr, /smaller than the 128px crop/);
});
