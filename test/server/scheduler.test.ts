// The shared queue seen from clients: identical tiles asked by two clients are computed once and
// micro-batched; cancel, disconnect and a viewport hint drop queued work; a connection's queue is bounded.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import type { ImageInfo, ServerMessage } from '../../server/protocol';
import { startServer, testImage, TestClient, type TestServer } from './helpers';

type Opened = Extract<ServerMessage, { type: 'image-opened' }>;
type Cancelled = Extract<ServerMessage, { type: 'cancelled' }>;

let small: string;
let big: string;
before(async () => {
  small = (await testImage(300, 200, 4)).file; // 3x2 blocks
  big = (await testImage(1024, 768, 5)).file; // 8x6 blocks
});

async function open(c: TestClient, file: string, id: number): Promise<ImageInfo> {
  c.send({ type: 'open-image', id, path: file });
  return (await c.waitFor<Opened>((m) => m.type === 'image-opened' && m.id === id)).image;
}

/** Every tile of the 2x level (one tile per LR block). */
function level2x(info: ImageInfo, firstId: number, extra: object = {}) {
  const level = info.nativeLevel + 1;
  const l = info.levels[level]!;
  const out = [];
  for (let y = 0; y < l.rows; y++)
    for (let x = 0; x < l.columns; x++) out.push({ id: firstId + out.length, imageId: info.imageId, level, x, y, ...extra });
  return out;
}

/** Waits until the inference queue is idle. */
async function idle(srv: TestServer): Promise<void> {
  for (;;) {
    const h = (await (
      await fetch(`${srv.url}/health`).catch((e) => {
        throw new Error(`health: ${(e as Error).cause}`);
      })
    ).json()) as { queue: { queued: number; running: number } };
    if (h.queue.queued === 0 && h.queue.running === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeServer('dedupe', async (srv) => {
  const a = await TestClient.connect(srv.wsUrl);
  const b = await TestClient.connect(srv.wsUrl);
  const ia = await open(a, small, 1);
  const ib = await open(b, small, 1);
  assert.equal(ia.imageId, ib.imageId, 'same content, same image');
  const reqs = level2x(ia, 10);
  a.send({ type: 'tiles', requests: reqs });
  b.send({ type: 'tiles', requests: reqs });
  for (const r of reqs) {
    const [fa, fb] = await Promise.all([a.frame(r.id), b.frame(r.id)]);
    assert.deepEqual(new Uint8Array(fa.payload), new Uint8Array(fb.payload));
  }
  const s = srv.server.stats;
  assert.equal(s.blocksInferred, reqs.length, `${reqs.length} distinct blocks for two clients`);
  assert.ok(s.engineCalls < s.blocksInferred, `micro-batching: ${s.engineCalls} engine calls for ${s.blocksInferred} blocks`);
  a.close();
  b.close();
});

describeServer('cancel and disconnect drop queued work', async (srv) => {
  const a = await TestClient.connect(srv.wsUrl);
  const info = await open(a, big, 1);
  const reqs = level2x(info, 100);
  a.send({ type: 'tiles', requests: reqs });
  a.send({ type: 'cancel', all: true });
  const cancelled = await a.waitFor<Cancelled>((m) => m.type === 'cancelled');
  assert.equal(cancelled.reason, 'client');
  await idle(srv);
  const framed = new Set(a.frames.map((f) => f.header.requestId));
  assert.ok(cancelled.ids.length > 0);
  for (const id of cancelled.ids) assert.ok(!framed.has(id), `cancelled request ${id} got no tile`);
  assert.equal(framed.size + cancelled.ids.length, reqs.length, 'every request either arrived or was cancelled');
  const afterCancel = srv.server.stats.blocksInferred;
  assert.ok(afterCancel < reqs.length, `only ${afterCancel} of ${reqs.length} blocks were inferred`);

  // Disconnect: the bicubic layer does not use the queue, so ask for 4x tiles of blocks not yet inferred.
  const b = await TestClient.connect(srv.wsUrl);
  await open(b, big, 1);
  const level = info.nativeLevel + 2;
  const l = info.levels[level]!;
  const todo = [];
  for (let y = 0; y < l.rows; y += 2)
    for (let x = 0; x < l.columns; x += 2) todo.push({ id: 1000 + todo.length, imageId: info.imageId, level, x, y });
  b.send({ type: 'tiles', requests: todo });
  b.close();
  await b.closed();
  await idle(srv);
  const ran = srv.server.stats.blocksInferred - afterCancel;
  assert.ok(ran < todo.length - framed.size, `after the disconnect only ${ran} more blocks ran`);
  // The connection that stayed still works.
  a.send({ type: 'tiles', requests: [{ id: 5000, imageId: info.imageId, level: info.nativeLevel + 1, x: 0, y: 0 }] });
  await a.frame(5000);
  a.close();
});

describeServer('a viewport hint drops queued tiles outside it', async (srv) => {
  const a = await TestClient.connect(srv.wsUrl);
  const info = await open(a, big, 1);
  const reqs = level2x(info, 200, { priority: 'prefetch' });
  a.send({ type: 'tiles', requests: reqs });
  // Viewport: the top-left 2x2 tiles of the 2x level.
  a.send({ type: 'viewport', imageId: info.imageId, level: info.nativeLevel + 1, x0: 0, y0: 0, x1: 1, y1: 1 });
  const dropped = await a.waitFor<Cancelled>((m) => m.type === 'cancelled' && m.reason === 'viewport');
  const inside = new Set(reqs.filter((r) => r.x <= 1 && r.y <= 1).map((r) => r.id));
  for (const id of dropped.ids) assert.ok(!inside.has(id), `tile ${id} inside the viewport was dropped`);
  for (const id of inside) await a.frame(id);
  await idle(srv);
  assert.ok(srv.server.stats.blocksInferred < reqs.length);
  a.close();
});

describeServer(
  'a connection over its queue limit gets SR_ERR_BUSY',
  async (srv) => {
    const a = await TestClient.connect(srv.wsUrl);
    const info = await open(a, big, 1);
    const reqs = level2x(info, 300).slice(0, 5);
    a.send({ type: 'tiles', requests: reqs });
    const outcomes = await Promise.all(reqs.map((r) => a.outcome(r.id)));
    const busy = outcomes.filter((o) => 'type' in o && o.type === 'error' && o.code === 'SR_ERR_BUSY');
    assert.equal(busy.length, 2);
    assert.equal(outcomes.length - busy.length, 3);
    a.close();
  },
  { maxQueuedPerConnection: 3 },
);

/** One test with its own server (fresh counters). */
function describeServer(name: string, fn: (srv: TestServer) => Promise<void>, opts: Parameters<typeof startServer>[0] = {}): void {
  test(name, async () => {
    // Blocks of 128 (one block = one 2x tile, so the counts below are per 2x tile) and micro-batches of 4.
    // --merge-blocks 1: micro-batching and cancellation are counted per engine call, without spatial merging.
    const srv = await startServer({ blockSize: 128, batch: 4, mergeBlocks: 1, ...opts });
    try {
      await fn(srv);
    } finally {
      await srv.server.close();
    }
  });
}

after(() => {});
