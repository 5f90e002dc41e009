// A front end (`phasesr serve --redis --no-local-engine`, default --worker-wait-ms) with no worker alive, over
// real sockets with a real redis-server: a tile request and a batch call (/api/v1/sr) get SR_ERR_NO_WORKER after
// the bounded wait instead of waiting forever, leave no job queued in Redis, and the next request fails at once;
// once a worker starts, the same tile is computed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import type { ServerMessage } from '../../../server/protocol';
import { tempDir } from '../../helpers/shared';
import { testImage, TestClient } from '../helpers';
import { health, startServe, startWorker, waitUntil, type Proc } from './processes';
import { ScaleGroup } from './scale-group';

type Opened = Extract<ServerMessage, { type: 'image-opened' }>;
interface Health {
  redis: {
    status: 'up' | 'down';
    workersSeen: number;
    waitingHere: number;
    queue?: { depth: number };
    counters: { noWorker: number; added: number };
  };
}

const dir = tempDir('phasesr-scale-no-worker-');
let group: ScaleGroup;
let front: Awaited<ReturnType<typeof startServe>>;
let worker: Proc | undefined;

before(async () => {
  group = await ScaleGroup.start(dir);
  // The default path: no --worker-wait-ms, unlike the group's other tests (they queue jobs before workers start).
  front = await startServe('front', group.serveArgs(true));
});

after(() => group?.stop([worker, front?.proc]));

test('no worker alive: a tile request and a batch call fail with SR_ERR_NO_WORKER, leave no queued job; a started worker then computes it', async () => {
  const { file } = await testImage(128, 128, 31, 'no-worker.tif');
  const c = await TestClient.connect(front.wsUrl);
  try {
    c.send({ type: 'open-image', id: 1, path: file });
    const image = (await c.waitFor<Opened>((m) => m.type === 'image-opened', 300_000)).image;
    const tile = (id: number): object => ({ id, imageId: image.imageId, level: image.nativeLevel + 2, x: 0, y: 0, encoding: 'f32' });
    c.send({ type: 'tiles', requests: [tile(1)] });
    // A liveness bound (the wait is 10 s by default), not a timing check.
    const err = await c.errorFor(1, 300_000);
    assert.equal(err.code, 'SR_ERR_NO_WORKER', err.message);
    assert.match(err.message, /phasesr worker/);

    const h = await health<Health>(front.url);
    assert.equal(h.redis.status, 'up');
    assert.equal(h.redis.workersSeen, 0);
    assert.equal(h.redis.waitingHere, 0, 'nothing waits in the server');
    await waitUntil('the queued job removed from Redis', async () => (await health<Health>(front.url)).redis.queue?.depth === 0, 60_000);

    // Now known: the next request is refused at once, without adding a job.
    const added = (await health<Health>(front.url)).redis.counters.added;
    c.send({ type: 'tiles', requests: [tile(2)] });
    assert.equal((await c.errorFor(2, 60_000)).code, 'SR_ERR_NO_WORKER');
    const res = await fetch(`${front.url}/api/v1/sr?path=${encodeURIComponent(file)}&scale=2`);
    const body = (await res.json()) as { error?: { code: string; message: string } };
    assert.equal(res.status, 503);
    assert.equal(body.error?.code, 'SR_ERR_NO_WORKER', JSON.stringify(body));
    const h2 = await health<Health>(front.url);
    assert.equal(h2.redis.counters.added, added, 'no block job was added for the refused tile');
    assert.ok(h2.redis.counters.noWorker >= 3, `three refusals counted: ${h2.redis.counters.noWorker}`);
    assert.equal(h2.redis.queue?.depth, 0, 'no engine-call job left queued');

    // The front end notices the worker at its next look at the heartbeats (every 2 s): ask until it does.
    worker = await startWorker('w1', group.workerArgs());
    let id = 3;
    const o = await waitUntil(
      'the tile once a worker is alive',
      async () => {
        c.send({ type: 'tiles', requests: [tile(++id)] });
        const x = await c.outcome(id, 300_000);
        if ('type' in x && x.code !== 'SR_ERR_NO_WORKER') throw new Error(`${x.code}: ${x.message}`);
        return !('type' in x) && x;
      },
      300_000,
      1000,
    );
    assert.deepEqual([o.header.width, o.header.height, o.payload.byteLength], [256, 256, 256 * 256 * 4], 'a whole 4x f32 tile');
  } finally {
    c.close();
  }
});
