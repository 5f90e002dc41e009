// The server's one concurrency limiter (server/limiter.ts): slots, first come first served, a bounded line
// and waiters that leave on abort. Large source reads and whole-image jobs both run through it.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Limiter } from '../../server/limiter';

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

test('at most maxRunning at once, in arrival order; a full line is SR_ERR_BUSY', async () => {
  const lim = new Limiter(2, 2);
  const order: number[] = [];
  let now = 0,
    peak = 0;
  const gates = [gate(), gate(), gate(), gate()];
  const runs = gates.map((g, i) =>
    lim.run(async () => {
      order.push(i);
      peak = Math.max(peak, ++now);
      await g.wait;
      now--;
      return i;
    }),
  );
  await new Promise((r) => setImmediate(r));
  assert.deepEqual([lim.running, lim.waiting], [2, 2]);
  await assert.rejects(
    lim.run(async () => 9),
    (e: Error & { code?: string }) => e.code === 'SR_ERR_BUSY',
  );
  for (const g of gates) g.open();
  assert.deepEqual(await Promise.all(runs), [0, 1, 2, 3]);
  assert.deepEqual(order, [0, 1, 2, 3]);
  assert.equal(peak, 2);
  assert.deepEqual([lim.running, lim.waiting], [0, 0]);
});

test('an aborted waiter leaves the line with its reason and never runs', async () => {
  const lim = new Limiter(1);
  const g = gate();
  const first = lim.run(() => g.wait);
  const ac = new AbortController();
  let ran = false;
  const second = lim.run(async () => {
    ran = true;
  }, ac.signal);
  await new Promise((r) => setImmediate(r));
  assert.equal(lim.waiting, 1);
  ac.abort(new Error('gone'));
  await assert.rejects(second, /gone/);
  assert.equal(lim.waiting, 0);
  g.open();
  await first;
  assert.equal(ran, false);
  assert.equal(lim.running, 0);
  await assert.rejects(
    lim.run(async () => 1, ac.signal),
    /gone/,
  );
});
