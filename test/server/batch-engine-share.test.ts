// Whole-image jobs share the server's engine with tile work: each of their engine calls waits while tile
// jobs are queued or running, but never longer than its bound (a busy viewer cannot starve a batch), and
// the results are the engine's own.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { createEngine, resolveModel, type SuperResBackend } from '../../models';
import { yieldingEngine } from '../../server/batch/yielding-engine';
import { tinyModelDir } from './helpers';

let engine: SuperResBackend;
const input = Float32Array.from({ length: 24 * 24 }, (_, i) => (i % 7) / 7);

before(async () => {
  const m = await resolveModel(await tinyModelDir());
  engine = await createEngine(m.config, m.weights, { threads: 1, log: () => {} });
});

after(async () => {
  await engine.dispose();
});

test('a batch engine call waits while tile work is queued, then runs with the same results', async () => {
  const load = { queued: 2, running: 1 };
  const shared = yieldingEngine(engine, load, 60_000);
  let finished = false;
  const call = shared.run(input, 1, 24, 24).then((r) => {
    finished = true;
    return r;
  });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(finished, false, 'held back while tiles are queued or running');
  load.queued = 0;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(finished, false, 'still held back while a tile batch runs');
  load.running = 0;
  const got = await call;
  const want = await engine.run(input, 1, 24, 24);
  assert.deepEqual(
    got.map((l) => [l.scale, l.width, l.height]),
    want.map((l) => [l.scale, l.width, l.height]),
  );
  assert.deepEqual(got.at(-1)!.data, want.at(-1)!.data);
});

test('a batch engine call is not starved: it runs after its bound even if tiles never stop', async () => {
  const shared = yieldingEngine(engine, { queued: 5, running: 1 }, 50);
  const r = await shared.run(input, 1, 24, 24);
  assert.equal(r.length, 3);
  await shared.dispose();
  assert.equal((await engine.run(input, 1, 24, 24)).length, 3, 'disposing the shared view leaves the engine alive');
});
