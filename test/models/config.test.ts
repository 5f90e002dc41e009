// The model config: presets as published, validation that names each problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig, PRESETS } from '../../models/config';
import { discriminatorParams, generatorParams, initWeights } from '../../models/params';

test('paper preset is the published architecture', () => {
  const c = PRESETS.paper(8);
  assert.deepEqual(c.widths, [512, 512, 256, 256]);
  assert.equal(c.convsPerModule, 2);
  assert.equal(c.dpf, true);
  assert.equal(c.skip, 'none');
  assert.equal(c.leakySlope, 0.2);
  assert.deepEqual(PRESETS.paper(2).widths, [512, 256]);
  assert.deepEqual(PRESETS.paper(4).widths, [512, 256, 256]);
});

test('invalid configs are refused with a coded error naming the field', () => {
  const good = PRESETS.lite(8);
  assert.throws(
    () => parseConfig({ ...good, widths: [8, 8] }),
    (e: ConfigError) => e.code === 'SR_ERR_MODEL_CONFIG' && /widths/.test(e.message),
  );
  assert.throws(() => parseConfig({ ...good, scale: 3 }), ConfigError);
  assert.throws(() => parseConfig({ ...good, convsPerModule: 3 }), ConfigError);
  assert.throws(() => parseConfig({ ...good, extra: 1 }), ConfigError);
  assert.throws(() => parseConfig({ ...good, widths: [8, 0, 8, 8] }), ConfigError);
  assert.deepEqual(parseConfig(JSON.parse(JSON.stringify(good))), good);
});

test('parameter layout follows the config', () => {
  const c = parseConfig({ ...PRESETS.lite(4), widths: [5, 6, 7], convsPerModule: 1, dpf: false });
  const g = generatorParams(c);
  const shape = (n: string) => g.find((s) => s.name === n)?.shape;
  assert.deepEqual(shape('g.l0.c0.w'), [3, 3, 1, 5]);
  assert.deepEqual(shape('g.l1.c0.w'), [3, 3, 5, 6]);
  assert.deepEqual(shape('g.l2.proj.w'), [1, 1, 7, 1]);
  assert.equal(shape('g.l0.proj.w'), undefined);
  assert.deepEqual(generatorParams({ ...c, dpf: true }).find((s) => s.name === 'g.l0.c0.w')?.shape, [3, 3, 13, 5]);
  assert.deepEqual(discriminatorParams(c).at(-2)?.shape, [1, 1, c.discWidths[3], 1]);
  // Seeded: the same seed gives the same weights, another seed others.
  const a = initWeights(g, 7).get('g.l1.c0.w')!.data;
  assert.deepEqual(initWeights(g, 7).get('g.l1.c0.w')!.data, a);
  assert.notDeepEqual(initWeights(g, 8).get('g.l1.c0.w')!.data, a);
});
