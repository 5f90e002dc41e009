// How many gradient workers a run gets without --workers: decided by the tfjs backend that started. Native
// tfjs threads by itself and keeps one; wasm is one thread per process, so the batch is split over the cores
// that divide it. (A tfjs-node that resolves but cannot start falls back to wasm, and must split too.)
import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';

import { defaultWorkers } from '../../../models/train/run-setup';

test('native tfjs keeps one worker; wasm and cpu split the batch over the cores that divide it', () => {
  const cores = os.availableParallelism();
  for (const native of ['tfjs-node', 'tfjs-node-gpu'] as const) assert.equal(defaultWorkers(4, native), 1);
  for (const flavour of ['tfjs-wasm', 'tfjs-cpu'] as const) {
    for (const batch of [1, 2, 3, 4, 6, 8]) {
      const got = defaultWorkers(batch, flavour);
      assert.ok(got >= 1 && got <= Math.min(cores, batch), `batch ${batch}: ${got} workers on ${cores} cores`);
      assert.equal(batch % got, 0, `batch ${batch} splits evenly over ${got}`);
      // the largest such count: no k above it divides the batch within the cores
      for (let k = got + 1; k <= Math.min(cores, batch); k++) assert.notEqual(batch % k, 0, `batch ${batch}: ${k} would divide it`);
    }
  }
  if (cores >= 2) assert.equal(defaultWorkers(2, 'tfjs-wasm'), 2, 'the training default (batch 2) uses both cores');
});
