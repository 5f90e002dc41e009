// The training loop on tiny data: the loss switches change what is optimised, a resumed run equals an
// uninterrupted one, and worker threads compute the same averaged gradients as one process.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { PRESETS } from '../../../models/config';
import { writeImage } from '../../../models/io/write-image';
import { discriminatorParams, generatorParams, initWeights } from '../../../models/params';
import { averageGrads } from '../../../models/train/adam';
import type { EpochRecord } from '../../../models/train/checkpoint';
import { GradientComputer } from '../../../models/train/gradients';
import { openRun } from '../../../models/train/run-setup';
import { train, type TrainOptions } from '../../../models/train/trainer';
import { WorkerPool } from '../../../models/train/worker-pool';
import { generatorForward, weightsToTensors } from '../../../models/tfjs/generator';
import { loadModel } from '../../../models/weights-file';
import { initTfjs } from '../../../models/tfjs/runtime';
import { boxLr, synthImage } from '../../helpers/image';
import { tempDir } from '../../helpers/shared';

const root = tempDir();
const data = path.join(root, 'train');
const val = path.join(root, 'val');

before(async () => {
  await initTfjs('wasm');
  for (const [dir, seeds] of [
    [data, [1, 2]],
    [val, [3]],
  ] as const) {
    await fs.mkdir(dir, { recursive: true });
    for (const s of seeds) {
      const px = Uint16Array.from(synthImage(72, 64, s), (v) => Math.round(v * 40));
      await writeImage(path.join(dir, `img${s}.tif`), { width: 72, height: 64, dtype: 'uint16', data: px });
    }
  }
});

const base = (out: string, over: Partial<TrainOptions> = {}): TrainOptions => ({
  data,
  out: path.join(root, out),
  preset: 'lite',
  scale: 8,
  loss: 'full',
  dpf: true,
  alpha: 1,
  warmup: 0,
  batch: 1,
  crop: 32,
  lr: 1e-3,
  seed: 5,
  stepsPerEpoch: 2,
  steps: 4,
  resume: false,
  workers: 1,
  prefer: 'wasm',
  log: () => {},
  ...over,
});

const keys = (r: EpochRecord) => Object.keys(r.losses).sort().join(',');

async function weightsOf(out: string) {
  return (await loadModel(path.join(out, 'checkpoint'))).weights;
}

function changed(a: Map<string, { data: Float32Array }>, b: Map<string, { data: Float32Array }>, prefix: string): boolean {
  for (const [n, t] of a) if (n.startsWith(prefix) && t.data.some((v, i) => v !== b.get(n)!.data[i])) return true;
  return false;
}

test('--loss content trains the generator only; adversarial has no content term; full warms up then adds D', async () => {
  const init = initWeights([...generatorParams(PRESETS.lite(8)), ...discriminatorParams(PRESETS.lite(8))], 5);
  const content = await train(base('content', { loss: 'content' }));
  assert.deepEqual(content.history.map(keys), ['g,g_content', 'g,g_content']);
  const wc = await weightsOf(path.join(root, 'content'));
  assert.ok(changed(wc, init, 'g.'), 'generator trained');
  assert.ok(!changed(wc, init, 'd.'), 'discriminator untouched without the adversarial term');

  const adv = await train(base('adv', { loss: 'adversarial' }));
  assert.deepEqual(adv.history.map(keys), ['d,g,g_adv', 'd,g,g_adv']);
  const wa = await weightsOf(path.join(root, 'adv'));
  assert.ok(changed(wa, init, 'd.') && changed(wa, init, 'g.'));

  const full = await train(base('full', { warmup: 2 }));
  assert.deepEqual(full.history.map(keys), ['g,g_content', 'd,g,g_adv,g_content']);
  assert.equal(full.history[0]!.adversarial, false);
  assert.equal(full.history[1]!.adversarial, true);
  const last = full.history[1]!.losses;
  // g = g_adv + alpha * g_content, per step, so also for the epoch means.
  assert.ok(Math.abs(last.g! - (last.g_adv! + last.g_content!)) < 1e-5);
});

test('--no-dpf: single-image input, and the content loss is the plain L1 at every level', async () => {
  const r = await train(base('nodpf', { loss: 'content', dpf: false, steps: 2, val }));
  const m = await loadModel(path.join(root, 'nodpf', 'best'));
  assert.equal(m.config.dpf, false);
  assert.equal(m.config.name, 'lite-nodpf');
  assert.deepEqual(m.weights.get('g.l0.c0.w')!.shape, [3, 3, 1, 64]); // 1 input channel, no DPF responses
  assert.ok(Number.isFinite(r.history[0]!.psnr) && Number.isFinite(r.best!.psnr), 'validated through the engine');

  // The loss value itself, against a hand computation from the generator's outputs.
  const cfg = m.config;
  const gc = await GradientComputer.create(cfg, 'wasm');
  gc.setParams(Object.fromEntries([...m.weights].map(([k, t]) => [k, t.data])));
  const size = 32;
  const hr = Float32Array.from(synthImage(size, size, 9), (v) => v / 1000);
  const outs = gc.generate(boxLr(hr, size), 1, size);
  let want = 0;
  outs.forEach((y, i) => {
    const f = 2 ** (2 - i),
      n = size / f; // level i+1 has side size / 2^(3-(i+1))
    let l1 = 0;
    for (let r0 = 0; r0 < n; r0++)
      for (let c0 = 0; c0 < n; c0++) {
        let t = 0;
        for (let a = 0; a < f; a++) for (let b = 0; b < f; b++) t += hr[(r0 * f + a) * size + c0 * f + b]!;
        l1 += Math.abs(y[r0 * n + c0]! - t / (f * f));
      }
    want += l1 / (n * n);
  });
  const got = gc.generator(hr, boxLr(hr, size), 1, size, { content: true, adversarial: false, alpha: 1 }).losses.g_content!;
  assert.ok(Math.abs(got - want) < 1e-5, `content loss ${got}, by hand ${want}`);
  gc.dispose();
});

test('a run stopped and resumed ends with the very weights of an uninterrupted run', async () => {
  const straight = await train(base('straight', { warmup: 1, steps: 4 }));
  assert.equal(straight.steps, 4);
  // The cosine schedule's length is fixed when a run starts (--schedule-steps, default --steps): the run
  // that stops at 2 is planned for 4, as the straight one is.
  await train(base('resumed', { warmup: 1, steps: 2, scheduleSteps: 4 }));
  await assert.rejects(train(base('resumed', { warmup: 1, steps: 4 })), /already holds a training run/);
  const { warmup: _, ...noWarmup } = base('resumed', { steps: 4, resume: true, lr: 5 /* ignored: the run's own options win */ });
  const resumed = await train(noWarmup);
  assert.equal(resumed.steps, 4);
  const a = await loadModel(path.join(root, 'straight', 'checkpoint'));
  const b = await loadModel(path.join(root, 'resumed', 'checkpoint'));
  assert.equal(b.sha256, a.sha256);
  // best/ holds the EMA of the generator (no validation set: the last step's), so the EMA resumed exactly too.
  const emaA = await loadModel(path.join(root, 'straight', 'best'));
  assert.equal((await loadModel(path.join(root, 'resumed', 'best'))).sha256, emaA.sha256);
  assert.ok(
    [...emaA.weights].some(([n, t]) => n.startsWith('g.') && t.data.some((v, i) => v !== a.weights.get(n)!.data[i])),
    'the EMA differs from the raw weights',
  );
  assert.deepEqual(resumed.history.map(keys), straight.history.map(keys));
  await assert.rejects(train(base('nothing-here', { resume: true })), /nothing to resume/);
  // The one schedule option a resume may change: the warm-up, recorded in the run.
  const logs: string[] = [];
  const changed = await train(base('resumed', { steps: 6, resume: true, warmup: 6, log: (l) => logs.push(l) }));
  assert.ok(
    logs.some((l) => l === 'warm-up changed from 1 to 6 steps at step 4'),
    logs.join('\n'),
  );
  // Steps 5 and 6 fall inside the new warm-up: content only again, no discriminator step.
  assert.deepEqual(
    changed.history.map((h) => h.adversarial),
    [true, true, false],
  );
  assert.deepEqual(changed.history.map(keys).at(-1), 'g,g_content');
});

test('--init starts a new run from a model: its weights, its lineage in the provenance; another architecture or --resume is refused', async () => {
  const first = await train(base('init-a', { loss: 'content', steps: 2 }));
  assert.equal(first.steps, 2);
  const a = await loadModel(path.join(root, 'init-a', 'best'));
  // A learning rate far below float32 resolution: the one step leaves the weights where --init put them.
  await train(base('init-b', { init: path.join(root, 'init-a', 'best'), loss: 'content', steps: 1, stepsPerEpoch: 1, lr: 1e-30, seed: 9 }));
  const b = await loadModel(path.join(root, 'init-b', 'best'));
  const seeded = initWeights([...generatorParams(PRESETS.lite(8)), ...discriminatorParams(PRESETS.lite(8))], 9);
  let worst = 0;
  for (const [n, t] of a.weights)
    for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs(t.data[i]! - b.weights.get(n)!.data[i]!));
  assert.ok(worst < 1e-6, `the run starts from the model's weights (max diff ${worst})`);
  assert.ok(changed(b.weights, seeded, 'g.'), 'not from its own seeded initialisation');
  assert.deepEqual(b.provenance.initFrom, { sha256: a.sha256, description: a.provenance.description, steps: 2 });
  assert.match(b.provenance.description, /starting from a model of 2 steps/);

  await assert.rejects(
    train(base('init-c', { init: path.join(root, 'init-a', 'best'), dpf: false })),
    (e: { code?: string; message: string }) => e.code === 'SR_ERR_USAGE' && /different architecture/.test(e.message),
  );
  await assert.rejects(
    train(base('init-b', { init: path.join(root, 'init-a', 'best'), resume: true })),
    (e: { code?: string }) => e.code === 'SR_ERR_USAGE',
  );
});

test(
  '--init with --body-mlp grows a body model: the run starts out computing what the model did, with MLPs it then ' +
    'trains; other widths and presets without a body are refused',
  async () => {
    const small = { preset: 'body' as const, loss: 'content' as const, steps: 1, stepsPerEpoch: 1 };
    await train(base('mlp-src', { ...small, seed: 3 }));
    const src = await loadModel(path.join(root, 'mlp-src', 'best'));
    const logs: string[] = [];
    const from = path.join(root, 'mlp-src', 'best');
    // The run as opened, before its first step.
    const grown = await openRun(base('mlp-grown', { ...small, init: from, bodyMlp: 24, seed: 4 }), (l) => logs.push(l));
    assert.deepEqual(grown.config.body, { blocks: 4, mixer: true, mlp: 24 });
    assert.ok(
      logs.some((l) => /has no body MLP: this run's 4 body MLPs start as the identity/.test(l)),
      logs.join('\n'),
    );
    assert.equal(grown.params['g.body0.e.w']!.length, 96 * 24);
    assert.ok(
      grown.params['g.body0.e.w']!.some((v) => v !== 0),
      'the widening 1x1 is seeded',
    );
    assert.ok(
      grown.params['g.body3.f.w']!.every((v) => v === 0),
      'the narrowing 1x1 starts at zero',
    );
    const grownWeights = new Map(
      generatorParams(grown.config).map((p) => [p.name, { shape: p.shape, data: grown.params[p.name]! }] as const),
    );
    const lr = tf.tensor4d(
      Float32Array.from(synthImage(12, 10, 7), (v) => v / 1000),
      [1, 10, 12, 1],
    );
    const run = (config: typeof src.config, w: typeof src.weights) =>
      tf.tidy(() => generatorForward(config, weightsToTensors(w), lr).map((t) => t.dataSync() as Float32Array));
    const [a, b] = [run(src.config, src.weights), run(grown.config, grownWeights)];
    for (const [k, level] of a.entries()) assert.deepEqual(b[k], level, `level ${k + 1}: the grown model computes the same`);
    lr.dispose();
    // A real step moves the MLPs off the identity.
    await train(base('mlp-trained', { ...small, init: from, bodyMlp: 24, seed: 4 }));
    const trained = await loadModel(path.join(root, 'mlp-trained', 'checkpoint'));
    assert.equal(trained.config.body?.mlp, 24);
    assert.ok(
      trained.weights.get('g.body3.f.w')!.data.some((v) => v !== 0),
      'a step trains the narrowing 1x1',
    );
    await assert.rejects(
      train(base('mlp-other', { ...small, init: path.join(root, 'mlp-trained', 'checkpoint'), bodyMlp: 32 })),
      (e: { code?: string; message: string }) => e.code === 'SR_ERR_USAGE' && /different architecture/.test(e.message),
    );
    await assert.rejects(
      train(base('mlp-lite', { loss: 'content', bodyMlp: 24 })),
      (e: { code?: string; message: string }) => e.code === 'SR_ERR_USAGE' && /preset lite has no LR body/.test(e.message),
    );
  },
);

test('a gradient step leaves no tensors behind (the parameters are re-uploaded every step)', async () => {
  const cfg = PRESETS.lite(8);
  const gc = await GradientComputer.create(cfg, 'wasm');
  const params = Object.fromEntries(
    [...initWeights([...generatorParams(cfg), ...discriminatorParams(cfg)], 3)].map(([k, t]) => [k, t.data]),
  );
  const hr = Float32Array.from(synthImage(32, 32, 4), (v) => v / 1000);
  const counts: number[] = [];
  for (let i = 0; i < 3; i++) {
    gc.setParams(params);
    gc.discriminator(hr, boxLr(hr, 32), 1, 32);
    gc.generator(hr, boxLr(hr, 32), 1, 32, { content: true, adversarial: true, alpha: 1 });
    counts.push(tf.memory().numTensors);
  }
  assert.equal(counts[2], counts[0], `tensors after each step: ${counts.join(', ')}`);
  gc.dispose();
});

test('two worker threads give the averaged gradient of the same batch in one process', async () => {
  const cfg = PRESETS.lite(8);
  const w = initWeights([...generatorParams(cfg), ...discriminatorParams(cfg)], 3);
  const params = Object.fromEntries([...w].map(([k, t]) => [k, t.data]));
  const size = 32;
  const hr = new Float32Array(2 * size * size);
  hr.set(Float32Array.from(synthImage(size, size, 4), (v) => v / 1000));
  hr.set(
    Float32Array.from(synthImage(size, size, 6), (v) => v / 1000),
    size * size,
  );
  const terms = { content: true, adversarial: true, alpha: 1 };
  const one = await WorkerPool.create(cfg, 1, 'wasm');
  const two = await WorkerPool.create(cfg, 2, 'wasm');
  try {
    const [g1] = await one.run('g', params, hr, boxLr(hr, size), 2, size, terms);
    const g2 = averageGrads((await two.run('g', params, hr, boxLr(hr, size), 2, size, terms)).map((r) => r.grads));
    let worst = 0,
      scale = 0;
    for (const [n, a] of Object.entries(g1!.grads)) {
      for (let i = 0; i < a.length; i++) {
        worst = Math.max(worst, Math.abs(a[i]! - g2[n]![i]!));
        scale = Math.max(scale, Math.abs(a[i]!));
      }
    }
    assert.ok(scale > 0 && worst / scale < 1e-4, `max diff ${worst} of max ${scale}`);
  } finally {
    await one.close();
    await two.close();
  }
});
