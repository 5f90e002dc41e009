// The shared inference queue in process: dedupe of identical jobs, first-visible-then-newest order (oldest first once aged), micro-batches
// of one window size, cancellation (a job nobody waits for is dropped) and the bound (SR_ERR_BUSY).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { InferenceQueue, type Waiter } from '../../server/tiles/inference-queue';

/** A queue whose n-th batch waits until release() was called n times, recording what ran. */
function gatedQueue(batch: number, maxQueued = 100, ageAfterCalls?: number) {
  const ran: string[][] = [];
  let released = 0;
  const waiting: { n: number; go: () => void }[] = [];
  const q = new InferenceQueue<string, string>({
    maxQueued,
    batch,
    ageAfterCalls,
    run: async (items) => {
      const n = ran.push(items);
      if (n > released) await new Promise<void>((go) => waiting.push({ n, go }));
      return items.map((i) => `done:${i}`);
    },
  });
  const release = () => {
    released++;
    for (const x of waiting.splice(0))
      if (x.n <= released) x.go();
      else waiting.push(x);
  };
  return { q, ran, release };
}

const w = (seq: number, visible = true, client = 'c'): Waiter => ({ seq, visible, client });
const tick = () => new Promise((r) => setImmediate(r));

test('identical jobs run once and every waiter gets the result', async () => {
  const { q, ran, release } = gatedQueue(4);
  const a = q.submit('k', 'A', () => 'x', w(1));
  const b = q.submit('k', 'A', () => 'never made', w(2));
  await tick();
  release();
  assert.deepEqual(await Promise.all([a, b]), ['done:x', 'done:x']);
  assert.deepEqual(ran, [['x']]);
});

test('visible before prefetch, newest first; a batch takes jobs of the same window size only', async () => {
  const { q, ran, release } = gatedQueue(2);
  const first = q.submit('busy', 'A', () => 'busy', w(0)); // occupies the engine while the rest queue up
  await tick();
  const all = [
    q.submit('p1', 'A', () => 'prefetch-new', w(9, false)),
    q.submit('v1', 'A', () => 'visible-old', w(1)),
    q.submit('v2', 'B', () => 'visible-B', w(5)),
    q.submit('v3', 'A', () => 'visible-new', w(7)),
  ];
  for (let i = 0; i < 4; i++) {
    release();
    await tick();
    await tick();
  }
  await Promise.all([first, ...all]);
  assert.deepEqual(ran, [['busy'], ['visible-new', 'visible-old'], ['visible-B'], ['prefetch-new']]);
});

test("a request that has waited through ageAfterCalls engine calls goes ahead of its client's newer ones, oldest first", async () => {
  const { q, ran, release } = gatedQueue(1, 100, 2);
  const busy = q.submit('busy', 'A', () => 'busy', w(0));
  await tick();
  const all = [1, 2, 3, 4, 5].map((k) => q.submit(`v${k}`, 'A', () => `v${k}`, w(k)));
  for (let i = 0; i < 6; i++) {
    release();
    await tick();
    await tick();
  }
  await Promise.all([busy, ...all]);
  // Two calls newest first (v5, v4), then v1..v3 have waited 2 calls: oldest first. Newest first alone ran v3, v2, v1.
  assert.deepEqual(ran.flat(), ['busy', 'v5', 'v4', 'v1', 'v2', 'v3']);
});

test("a first job (a cold view's first block) goes ahead of newer visible jobs; for a prefetch waiter it is prefetch", async () => {
  const { q, ran, release } = gatedQueue(1);
  const busy = q.submit('busy', 'A', () => 'busy', w(0));
  await tick();
  const all = [
    q.submit('f1', 'S', () => 'first-old', w(1), undefined, true),
    q.submit('v1', 'A', () => 'visible-new', w(8)),
    q.submit('f2', 'S', () => 'first-prefetch', w(9, false), undefined, true),
    q.submit('p1', 'A', () => 'prefetch-old', w(2, false)),
  ];
  for (let i = 0; i < 5; i++) {
    release();
    await tick();
    await tick();
  }
  await Promise.all([busy, ...all]);
  assert.deepEqual(ran, [['busy'], ['first-old'], ['visible-new'], ['first-prefetch'], ['prefetch-old']]);
});

test('an aborted waiter is rejected with SR_ERR_CANCELLED and its queued job is dropped', async () => {
  const { q, ran, release } = gatedQueue(1);
  const busy = q.submit('busy', 'A', () => 'busy', w(0));
  await tick();
  const ac = new AbortController();
  const gone = q.submit('gone', 'A', () => 'gone', w(5), ac.signal);
  const kept = q.submit('kept', 'A', () => 'kept', w(1));
  assert.equal(q.queued, 2);
  ac.abort();
  await assert.rejects(gone, (e: { code?: string }) => e.code === 'SR_ERR_CANCELLED');
  assert.equal(q.queued, 1);
  release();
  await tick();
  release();
  await Promise.all([busy, kept]);
  assert.deepEqual(ran, [['busy'], ['kept']]);
});

test('a full queue refuses new jobs with SR_ERR_BUSY but still joins existing ones', async () => {
  const { q, release } = gatedQueue(1, 2);
  const running = q.submit('r', 'A', () => 'r', w(0));
  await tick();
  const a = q.submit('a', 'A', () => 'a', w(1));
  const b = q.submit('b', 'A', () => 'b', w(2));
  await assert.rejects(
    q.submit('c', 'A', () => 'c', w(3)),
    (e: { code?: string }) => e.code === 'SR_ERR_BUSY',
  );
  const joined = q.submit('a', 'A', () => 'a', w(4));
  for (let i = 0; i < 3; i++) {
    release();
    await tick();
    await tick();
  }
  assert.deepEqual(await Promise.all([running, a, b, joined]), ['done:r', 'done:a', 'done:b', 'done:a']);
});

test('clients take turns (newest first within each): a flood of new requests does not starve another client', async () => {
  const { q, ran, release } = gatedQueue(1);
  const busy = q.submit('busy', 'A', () => 'busy', w(0, true, 'flood'));
  await tick();
  const jobs = [
    ...[1, 2, 3].map((i) => q.submit(`f${i}`, 'A', () => `flood-${i}`, w(i, true, 'flood'))),
    q.submit('q1', 'A', () => 'quiet-1', w(4, true, 'quiet')),
    ...[5, 6, 7].map((i) => q.submit(`f${i}`, 'A', () => `flood-${i}`, w(i, true, 'flood'))),
    q.submit('q2', 'A', () => 'quiet-2', w(8, true, 'quiet')),
  ];
  for (let i = 0; i < 9; i++) {
    release();
    await tick();
    await tick();
  }
  await Promise.all([busy, ...jobs]);
  assert.deepEqual(ran.flat(), ['busy', 'quiet-2', 'flood-7', 'quiet-1', 'flood-6', 'flood-5', 'flood-3', 'flood-2', 'flood-1']);
});
