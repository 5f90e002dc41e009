// `phasesr average` end to end: the weights it writes are the element-wise mean of its inputs, its provenance
// names each input, the result loads and runs, and what cannot be averaged is refused with a code.
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PRESETS } from '../../models/config';
import { generatorParams, randomWeights } from '../../models/params';
import { loadModel, saveModel } from '../../models/weights-file';
import { phasesr } from '../helpers/cli';
import { tempDir } from '../helpers/shared';

const dir = tempDir();
const cfg = PRESETS.lite(2);
const trained = (description: string) => ({ trained: true, description, created: '', steps: 10 });

test('average writes the mean of the weights, names its inputs, and the result runs', async () => {
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  const c = path.join(dir, 'c');
  await saveModel(a, cfg, randomWeights(generatorParams(cfg), 1), trained('run a'));
  await saveModel(b, cfg, randomWeights(generatorParams(cfg), 2), trained('run b'));
  // c carries another preset name: a name labels a model, the architecture is what must match
  await saveModel(c, { ...cfg, name: 'renamed' }, randomWeights(generatorParams(cfg), 3), trained('run c'));
  const out = path.join(dir, 'soup');
  const r = await phasesr(['average', a, b, c, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const [ma, mb, mc, soup] = await Promise.all([a, b, c, out].map((d) => loadModel(d)));
  let checked = 0;
  for (const [name, t] of soup!.weights) {
    const [x, y, z] = [ma, mb, mc].map((m) => m!.weights.get(name)!.data);
    for (let i = 0; i < t.data.length; i++, checked++) {
      assert.ok(Math.abs(t.data[i]! - (x![i]! + y![i]! + z![i]!) / 3) <= 1e-6 * (1 + Math.abs(t.data[i]!)), `${name}[${i}]`);
    }
  }
  assert.equal(
    checked,
    [...ma!.weights.values()].reduce((n, t) => n + t.data.length, 0),
    'every weight averaged',
  );
  assert.deepEqual(soup!.config, ma!.config);
  assert.equal(soup!.provenance.trained, true);
  assert.deepEqual(
    soup!.provenance.averageOf?.map((m) => [m.sha256, m.description]),
    [ma, mb, mc].map((m) => [m!.sha256, m!.provenance.description]),
  );
  assert.match(soup!.provenance.command ?? '', /^phasesr average /);
  // The average is a model like any other: sr runs it.
  const img = path.join(dir, 'in.png');
  assert.equal((await phasesr(['sample', '--out', img, '--size', '32x32'])).code, 0);
  const sr = await phasesr(['sr', img, path.join(dir, 'out.tif'), '--scale', '2', '--model', out, '-q']);
  assert.equal(sr.code, 0, sr.stderr);
});

test('average refuses one model, another architecture, and an untrained model, with SR_ERR_USAGE', async () => {
  const a = path.join(dir, 'r-a');
  const other = path.join(dir, 'r-other');
  const init = path.join(dir, 'r-init');
  await saveModel(a, cfg, randomWeights(generatorParams(cfg), 1), trained('a'));
  const cfg4 = PRESETS.lite(4);
  await saveModel(other, cfg4, randomWeights(generatorParams(cfg4), 1), trained('other'));
  await saveModel(init, cfg, randomWeights(generatorParams(cfg), 2), { trained: false, description: 'init', created: '' });
  for (const [args, why] of [
    [[a], /at least two models/],
    [[a, other], /another architecture/],
    [[a, init], /untrained/],
  ] as const) {
    const out = path.join(dir, `r-out-${args.length}-${path.basename(args.at(-1)!)}`);
    const r = await phasesr(['average', ...args, '--out', out]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, why);
    assert.match(r.stderr, /\[SR_ERR_USAGE\]/);
    await assert.rejects(loadModel(out), 'nothing written');
  }
});
