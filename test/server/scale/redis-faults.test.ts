// Scale-out faults with real parts (Debian's redis-server on a free loopback port, `phasesr serve --redis`
// and `phasesr worker` child processes, one shared folder): jobs only a dead server wanted are skipped, not
// computed, and the engine-call files it left are swept; a tile the worker cannot write into the shared cache fails its job with a coded error instead
// of marking the block done; the batch API on a front end without an engine runs through the workers;
// SIGTERM/SIGINT end servers and workers promptly and cleanly whether Redis was never reachable or went away.
// The steps run in order: the first kills server A, the third stops Redis.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { Redis } from 'ioredis';

import { ImageSource, runSr } from '../../../models';
import { PhasesrClient } from '../../../server/client/phasesr-client';
import type { ServerMessage } from '../../../server/protocol';
import { tempDir } from '../../helpers/shared';
import { testImage, TestClient } from '../helpers';
import { freePort, health, startServe, startWorker, waitUntil, type Proc, type RedisProc } from './processes';
import { ScaleGroup } from './scale-group';

type Opened = Extract<ServerMessage, { type: 'image-opened' }>;
interface Worker {
  id: string;
  jobsDone: number;
  blocksInferred: number;
  dropped: number;
  engineCalls: number;
  failed: number;
}
interface Health {
  model: { sha256: string };
  redis: { status: 'up' | 'down'; waitingHere: number; workers?: Worker[]; queue?: { depth: number }; counters: { engineCalls: number } };
}

const dir = tempDir('phasesr-scale-faults-');
const shared = path.join(dir, 'shared');
let group: ScaleGroup;
let redis: RedisProc;
let model: string;
let A: Awaited<ReturnType<typeof startServe>>;
let B: Awaited<ReturnType<typeof startServe>>;
let w1: Proc | undefined;

const serveArgs = (): string[] => group.serveArgs();
const workerArgs = (): string[] => group.workerArgs();
const worker = (h: Health, id: string): Worker | undefined => (h.redis.workers ?? []).find((w) => w.id === id);

before(async () => {
  group = await ScaleGroup.start(dir);
  ({ redis, model } = group);
  [A, B] = await Promise.all([startServe('A', serveArgs()), startServe('B', serveArgs())]);
});

after(() => group?.stop([w1, A?.proc, B?.proc]));

async function open(url: string, file: string): Promise<{ c: TestClient; image: Opened['image'] }> {
  const c = await TestClient.connect(url);
  c.send({ type: 'open-image', id: 1, path: file });
  return { c, image: (await c.waitFor<Opened>((m) => m.type === 'image-opened', 300_000)).image };
}

/** The worker's marker for a finished block in the shared cache (server/scale/shared-dir.ts). */
function marker(imageSha: string, modelSha: string, bx: number, by: number): string {
  return path.join(shared, 'cache', imageSha, modelSha, 'blocks64', `${bx}_${by}.done`);
}

const sha256 = async (file: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

test(
  'a server killed (kill -9) with queued jobs only it wanted: workers skip them once its liveness key lapses, and ' +
    'another server removes the engine-call input it left in the shared folder; a job another server wants too is computed',
  async () => {
    // 256x128 at block 64: 4x2 blocks, one 4x tile each. A wants blocks 0..3 of row 0, B only block 0.
    const { file } = await testImage(256, 128, 21, 'dead-server.tif');
    const a = await open(A.wsUrl, file);
    const b = await open(B.wsUrl, file);
    const level = a.image.nativeLevel + 2;
    a.c.send({
      type: 'tiles',
      requests: [0, 1, 2, 3].map((x) => ({ id: 10 + x, imageId: a.image.imageId, level, x, y: 0, priority: 'visible' })),
    });
    b.c.send({ type: 'tiles', requests: [{ id: 10, imageId: b.image.imageId, level, x: 0, y: 0, priority: 'visible' }] });
    // No worker yet: the four jobs wait in Redis, block 0 wanted by both servers.
    await waitUntil('4 queued jobs, B waiting on one', async () => {
      const h = await health<Health>(B.url);
      return h.redis.queue?.depth === 4 && h.redis.waitingHere === 1;
    });
    // A's batch job too, one engine call (a 40x32 image is one tile): its input waits in the shared folder.
    const { file: small } = await testImage(40, 32, 24, 'dead-server-batch.tif');
    const batchClient = await PhasesrClient.connect(A.wsUrl);
    const batch = batchClient.batch(small, { scale: 8, output: path.join(dir, 'dead-server-x8.tif') }).catch((e: Error) => e);
    const callsDir = path.join(shared, 'calls');
    await waitUntil('the engine call queued, its input in calls/', async () => {
      const h = await health<Health>(B.url);
      return h.redis.queue?.depth === 5 && readdirSync(callsDir).length === 1;
    });
    const [left] = readdirSync(callsDir);
    assert.match(left!, /^call-.+\.in$/);
    await A.proc.stop('SIGKILL');
    assert.ok((await batch) instanceof Error, "A's batch client loses its server");
    await batchClient.close().catch(() => undefined);
    const r = new Redis(redis.url);
    try {
      // Only B's liveness key is left once A's time to live has run out (server/scale/block-jobs.ts SERVER_TTL_MS).
      await waitUntil("A's liveness key expired", async () => (await r.keys('phasesr:*:alive:*')).length === 1, 120_000, 500);
    } finally {
      r.disconnect();
    }
    w1 = await startWorker('w1', workerArgs());
    const o = await b.c.outcome(10, 300_000);
    assert.ok(!('type' in o), `B's tile arrives (${'type' in o ? o.code : ''})`);
    const h = await waitUntil(
      'the queue drained',
      async () => {
        const x = await health<Health>(B.url);
        return x.redis.queue?.depth === 0 && (worker(x, 'w1')?.jobsDone ?? 0) >= 4 && x;
      },
      300_000,
    );
    const w = worker(h, 'w1')!;
    assert.equal(w.blocksInferred, 1, `only the block B still wants was inferred (w1: ${JSON.stringify(w)})`);
    assert.equal(w.dropped, 4, 'the three blocks and the engine call only dead A wanted were skipped');
    assert.equal(w.engineCalls, 0, "dead A's engine call was not run");
    // B removes what dead A left in calls/ (server/scale/redis-block-queue.ts #sweepCalls); without that it stays.
    await waitUntil("dead A's call input swept", async () => !existsSync(path.join(callsDir, left!)), 120_000, 500);
    assert.equal((await health<{ redis: { counters: { callFilesSwept: number } } }>(B.url)).redis.counters.callFilesSwept, 1);
    const imageSha = await sha256(file);
    assert.ok(existsSync(marker(imageSha, h.model.sha256, 0, 0)), 'block 0 is in the shared cache');
    for (const bx of [1, 2, 3]) assert.ok(!existsSync(marker(imageSha, h.model.sha256, bx, 0)), `block ${bx} was not computed`);
    a.c.close();
    b.c.close();
  },
);

test(
  'a tile the worker cannot write into the shared cache fails the job (retried, then SR_ERR_CACHE_WRITE to the ' +
    'client), the block is not marked done, and once the cache is writable again the tile is computed',
  async () => {
    const { file } = await testImage(128, 128, 22, 'unwritable.tif');
    const b = await open(B.wsUrl, file);
    const h0 = await health<Health>(B.url);
    const imageSha = await sha256(file);
    // A plain file where the worker's whole SR tiles go (cache/<image>/<model>/sr/...): every write under it fails.
    const blocker = path.join(shared, 'cache', imageSha, h0.model.sha256, 'sr');
    await mkdir(path.dirname(blocker), { recursive: true });
    await writeFile(blocker, 'not a folder');
    const failedBefore = worker(h0, 'w1')?.failed ?? 0;
    const level = b.image.nativeLevel + 2;
    b.c.send({ type: 'tiles', requests: [{ id: 1, imageId: b.image.imageId, level, x: 0, y: 0 }] });
    const err = await b.c.errorFor(1, 300_000);
    assert.equal(err.code, 'SR_ERR_CACHE_WRITE', err.message);
    assert.ok(!err.message.includes(shared), `the message names no server path: ${err.message}`);
    assert.ok(!existsSync(marker(imageSha, h0.model.sha256, 0, 0)), 'the block is not marked done');
    const h1 = await health<Health>(B.url);
    // At least BullMQ's three attempts; more when a run outlived its lock on a loaded machine (stalled, run again).
    const tries = (worker(h1, 'w1')?.failed ?? 0) - failedBefore;
    assert.ok(tries >= 3, `the job was tried three times (BullMQ attempts): ${tries}`);
    await rm(blocker);
    b.c.send({ type: 'tiles', requests: [{ id: 2, imageId: b.image.imageId, level, x: 0, y: 0, encoding: 'f32' }] });
    const o = await b.c.outcome(2, 300_000);
    assert.ok(!('type' in o), `the tile arrives once the cache is writable (${'type' in o ? `${o.code} ${o.message}` : ''})`);
    assert.ok(existsSync(marker(imageSha, h0.model.sha256, 0, 0)), 'now the block is marked done');
    b.c.close();
  },
);

test(
  'the batch API on a --no-local-engine server runs through the queue: a worker runs its engine calls, and the result ' +
    'equals runSr of the same file',
  async () => {
    const { file } = await testImage(80, 72, 23, 'batch.tif');
    const out = path.join(dir, 'batch-x8.tif');
    const h0 = await health<Health>(B.url);
    const client = await PhasesrClient.connect(B.wsUrl);
    try {
      const r = await client.batch(file, { scale: 8, output: out });
      assert.deepEqual([r.result.width, r.result.height], [640, 576]);
    } finally {
      await client.close();
    }
    const ref = path.join(dir, 'batch-ref.tif');
    await runSr({ input: file, output: ref, scale: 8, model, threads: 1, log: () => {} });
    const [got, want] = await Promise.all([ImageSource.open(out), ImageSource.open(ref)]);
    try {
      assert.deepEqual([got.width, got.height, got.dtype], [want.width, want.height, want.dtype]);
      assert.deepEqual(await got.readRegion(0, 0, got.width, got.height), await want.readRegion(0, 0, want.width, want.height));
    } finally {
      await got.close();
      await want.close();
    }
    const h1 = await health<Health>(B.url);
    const calls = (worker(h1, 'w1')?.engineCalls ?? 0) - (worker(h0, 'w1')?.engineCalls ?? 0);
    // 80x72 LR in 64x64 tiles (runSr's, one per engine call): 2x2 calls.
    assert.equal(calls, 4, 'the worker ran the four engine calls');
    assert.equal(h1.redis.counters.engineCalls - h0.redis.counters.engineCalls, 4);
    assert.deepEqual(readdirSync(path.join(shared, 'calls')), [], 'no engine-call files are left in the shared folder');
  },
);

/** Sends `sig` and waits (a liveness bound, not a timing check) for the exit code; null if it did not exit. */
async function exitOn(p: Proc, sig: NodeJS.Signals): Promise<number | null> {
  p.child.kill(sig);
  const code = await Promise.race([p.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000).unref())]);
  if (code !== 'hung') return code;
  p.child.kill('SIGKILL');
  return null;
}

test('Redis gone: SIGTERM ends the server and SIGINT the worker, each with exit code 0', async () => {
  await redis.stop();
  await waitUntil('B sees redis down', async () => (await health<Health>(B.url)).redis.status === 'down');
  const [b, w] = await Promise.all([exitOn(B.proc, 'SIGTERM'), exitOn(w1!, 'SIGINT')]);
  assert.equal(b, 0, `server B: ${B.proc.lines.slice(-3).join(' | ')}`);
  assert.equal(w, 0, `worker w1: ${w1!.lines.slice(-3).join(' | ')}`);
});

test('Redis never reachable: a front end (SIGTERM) and a front+worker server (SIGINT) both exit with code 0', async () => {
  const nowhere = `redis://127.0.0.1:${await freePort()}`;
  const args = ['--model', model, '--redis', nowhere, '--shared-dir', shared, '--threads', '1'];
  const [front, both] = await Promise.all([startServe('front', [...args, '--no-local-engine']), startServe('front+worker', args)]);
  await front.proc.line(/redis: not reachable yet/);
  const [f, fw] = await Promise.all([exitOn(front.proc, 'SIGTERM'), exitOn(both.proc, 'SIGINT')]);
  assert.equal(f, 0, `front: ${front.proc.lines.slice(-3).join(' | ')}`);
  assert.equal(fw, 0, `front+worker: ${both.proc.lines.slice(-3).join(' | ')}`);
});
