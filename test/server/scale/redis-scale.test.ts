// Scale-out with real parts: Debian's redis-server on a free loopback port, two `phasesr serve --redis`
// front ends and two `phasesr worker` processes sharing one folder. The steps run in order and build on
// each other: cancel of queued jobs, identical bytes through both servers and the single process, one
// inference per block across servers, the viewer on server B, a worker killed mid-job, a Redis restart, an
// upload through B, and last (it kills server A) a server killed while its jobs wait.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { encodeChunk, type ServerMessage } from '../../../server/protocol';
import { buildViewer } from '../../../viewer/build';
import { tempDir } from '../../helpers/shared';
import { CHROMIUM, CHROMIUM_ARGS, goTo, inApp, waitApp, waitLayerLoaded } from '../../viewer/browser';
import { startServer, testImage, TestClient } from '../helpers';
import { health, startServe, startWorker, waitUntil, type Proc, type RedisProc } from './processes';
import { ScaleGroup } from './scale-group';

type Opened = Extract<ServerMessage, { type: 'image-opened' }>;
interface Worker {
  id: string;
  alive: boolean;
  jobsDone: number;
  blocksInferred: number;
}
interface Health {
  role: string;
  stats: { percentilesComputed: number; tilesSent: number; cacheHits: number };
  redis: {
    status: 'up' | 'down';
    waitingHere: number;
    workersSeen: number;
    workers?: Worker[];
    queue?: { depth: number; active: number };
    counters: { added: number; removed: number; stalled: number; completed: number; priorityChanges: number; unavailable: number };
  };
}

const dir = tempDir('phasesr-scale-');
const shared = path.join(dir, 'shared');
// 256x192 at block 64: 4x3 = 12 blocks, one 4x tile (level nativeLevel+2) each.
const W = 256,
  H = 192;
let group: ScaleGroup;
let redis: RedisProc;
let model: string;
let img: string;
let A: Awaited<ReturnType<typeof startServe>>;
let B: Awaited<ReturnType<typeof startServe>>;
const workers = new Map<string, Proc>();
let imageId: string;
let native: number;

const serveArgs = (): string[] => [img, ...group.serveArgs()];
const workerArgs = (): string[] => group.workerArgs();
const inferredBy = (h: Health): number => (h.redis.workers ?? []).reduce((s, w) => s + w.blocksInferred, 0);

before(async () => {
  group = await ScaleGroup.start(dir);
  ({ redis, model } = group);
  ({ file: img } = await testImage(W, H, 7, 'scale.tif'));
  await buildViewer(); // before the servers start: they serve viewer/dist only if it exists then
  A = await startServe('A', serveArgs());
  B = await startServe('B', serveArgs());
  const c = await TestClient.connect(A.wsUrl);
  c.send({ type: 'open-image', id: 1, path: img });
  const info = (await c.waitFor<Opened>((m) => m.type === 'image-opened', 300_000)).image;
  c.close();
  imageId = info.imageId;
  native = info.nativeLevel;
});

after(() => group?.stop([...workers.values(), A?.proc, B?.proc]));

/** Tiles of the test image through one server; each server names it by its own id (an HMAC of the content). */
async function tilesVia(
  url: string,
  reqs: { level: number; x: number; y: number; encoding?: string; priority?: string }[],
): Promise<Uint8Array[]> {
  const c = await TestClient.connect(url);
  try {
    c.send({ type: 'open-image', id: 1000, path: img });
    const id = (await c.waitFor<Opened>((m) => m.type === 'image-opened' && m.id === 1000, 300_000)).image.imageId;
    c.send({ type: 'tiles', requests: reqs.map((r, i) => ({ id: i + 1, imageId: id, ...r })) });
    const out: Uint8Array[] = [];
    for (let i = 0; i < reqs.length; i++) {
      const o = await c.outcome(i + 1, 300_000);
      if ('type' in o) throw new Error(`tile ${JSON.stringify(reqs[i])}: ${o.code} ${o.message}`);
      out.push(o.payload);
    }
    return out;
  } finally {
    c.close();
  }
}

test("both servers are front ends on one queue; the image's percentiles were computed once for both", async () => {
  const [a, b] = await Promise.all([health<Health>(A.url), health<Health>(B.url)]);
  assert.equal(a.role, 'front');
  assert.equal(b.role, 'front');
  assert.equal(a.redis.status, 'up');
  assert.equal(a.stats.percentilesComputed + b.stats.percentilesComputed, 1, 'one of the two servers computed them');
  assert.ok(
    B.proc.lines.some((l) => /read from the shared folder/.test(l)) || A.proc.lines.some((l) => /read from the shared folder/.test(l)),
  );
});

test('queued jobs no viewer wants any more are removed from Redis when the viewer pans away', async () => {
  const c = await TestClient.connect(A.wsUrl);
  // No worker yet: the jobs stay queued.
  c.send({ type: 'tiles', requests: [0, 1, 2, 3].map((x) => ({ id: x + 1, imageId, level: native + 2, x, y: 0, priority: 'visible' })) });
  await waitUntil('4 queued jobs', async () => (await health<Health>(A.url)).redis.queue?.depth === 4);
  // The viewport moves to the image's bottom row: the four requests left behind are cancelled.
  c.send({ type: 'viewport', imageId, level: native + 2, x0: 0, y0: 2, x1: 3, y1: 2 });
  await c.waitFor((m) => m.type === 'cancelled' && m.reason === 'viewport', 180_000);
  await waitUntil('an empty queue', async () => (await health<Health>(A.url)).redis.queue?.depth === 0);
  // The counter moves when each remove() call returns, which can be after Redis already shows the queue empty.
  const h = await waitUntil(
    '4 removals counted',
    async () => {
      const x = await health<Health>(A.url);
      return x.redis.counters.removed >= 4 && x;
    },
    30_000,
  );
  assert.equal(h.redis.counters.removed, 4, 'all four jobs were removed, not left for the workers');
  assert.equal(h.redis.waitingHere, 0);
  c.close();
});

test("the same tiles through server A and server B are identical bytes, equal to the single-process server's, and each block is inferred once", async () => {
  workers.set('w1', await startWorker('w1', workerArgs()));
  workers.set('w2', await startWorker('w2', workerArgs()));
  await waitUntil('two workers seen', async () => (await health<Health>(A.url)).redis.workersSeen === 2);
  // A 2x tile spans 2x2 blocks (x 0..1, y 0..1 at block 64 -> blocks 0..1 x 0..1), the 8x tile lies in block (3, 2).
  const reqs = [
    { level: native + 1, x: 0, y: 0, encoding: 'f32' },
    { level: native + 1, x: 0, y: 0, encoding: 'png' },
    { level: native + 3, x: 7, y: 5, encoding: 'f32' },
    { level: native + 3, x: 7, y: 5, encoding: 'png' },
  ];
  const [viaA, viaB] = await Promise.all([tilesVia(A.wsUrl, reqs), tilesVia(B.wsUrl, reqs)]);
  for (let i = 0; i < reqs.length; i++) assert.deepEqual(Buffer.from(viaB[i]!), Buffer.from(viaA[i]!), `request ${i}: A and B agree`);
  const single = await startServer({ model, images: [img] });
  try {
    const viaSingle = await tilesVia(single.wsUrl, reqs);
    for (let i = 0; i < reqs.length; i++)
      assert.deepEqual(Buffer.from(viaSingle[i]!), Buffer.from(viaA[i]!), `request ${i}: equals the single process`);
  } finally {
    await single.server.close();
  }
  const h = await health<Health>(A.url);
  assert.equal(inferredBy(h), 5, `5 distinct blocks were asked for through two servers: the workers inferred ${inferredBy(h)}`);
  assert.ok((h.redis.workers ?? []).every((w) => w.alive));
});

test("the viewer pointed at server B shows SR tiles that server A's traffic computed, without new inference", async () => {
  // A's traffic: every block of the image (one 4x tile each).
  await tilesVia(
    A.wsUrl,
    [0, 1, 2].flatMap((y) => [0, 1, 2, 3].map((x) => ({ level: native + 2, x, y }))),
  );
  const before = await health<Health>(B.url);
  const inferredBefore = inferredBy(before);
  const context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 800, height: 600 },
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    await page.goto(`${B.url}/`);
    await page.waitForFunction('document.body.dataset.ready !== undefined', undefined, { timeout: 300_000 });
    assert.equal(
      await page.evaluate('document.body.dataset.ready'),
      'true',
      `${await page.textContent('#status-message')} ${errors.join('; ')}`,
    );
    await goTo(page, 128, 96, 8);
    await waitApp(page, 'app.socket.counters.requested > 0', 180_000);
    await waitLayerLoaded(page, 'sr', 300_000);
    assert.ok(await inApp<boolean>(page, 'app.status.msPerTile > 0'), 'SR tiles arrived');
  } finally {
    await context.close();
  }
  const after = await health<Health>(B.url);
  assert.ok(after.stats.tilesSent > before.stats.tilesSent, 'server B sent tiles');
  assert.equal(inferredBy(after), inferredBefore, 'no block was inferred again');
  assert.equal(after.redis.counters.added, before.redis.counters.added, 'server B queued no job: the shared cache had every block');
});

test('a worker killed (kill -9) mid-job: its job goes to the other worker and every tile arrives', async () => {
  // A second, larger image: 512x512 = 64 blocks, enough work that w1 is always holding a job.
  const { file } = await testImage(512, 512, 8, 'scale-big.tif');
  const c = await TestClient.connect(A.wsUrl);
  c.send({ type: 'open-image', id: 1, path: file });
  const big = (await c.waitFor<Opened>((m) => m.type === 'image-opened', 300_000)).image;
  const reqs = Array.from({ length: 64 }, (_, i) => ({
    id: 10 + i,
    imageId: big.imageId,
    level: big.nativeLevel + 2,
    x: i % 8,
    y: Math.floor(i / 8),
  }));
  // w2 frozen meanwhile: w1 alone works the queue, so while jobs wait it holds one (BullMQ hands it the next
  // job as it finishes one); on a fast machine two workers could drain the queue before the kill.
  workers.get('w2')!.child.kill('SIGSTOP');
  c.send({ type: 'tiles', requests: reqs });
  await waitUntil(
    'w1 busy',
    async () => ((await health<Health>(A.url)).redis.workers ?? []).find((w) => w.id === 'w1')!.jobsDone >= 2,
    300_000,
    20,
  );
  // With the tiny model a job takes a few ms, so w1 spends much of its time between jobs. Freeze it and read
  // BullMQ's active count: only a kill while it holds a job (active >= 1, w2 frozen too) is a kill mid-job.
  const w1 = workers.get('w1')!;
  let holding = false;
  for (let i = 0; i < 50 && !holding; i++) {
    w1.child.kill('SIGSTOP');
    holding = ((await health<Health>(A.url)).redis.queue?.active ?? 0) >= 1;
    if (!holding) {
      w1.child.kill('SIGCONT');
      await new Promise((r) => setTimeout(r, 3 + (i % 7)));
    }
  }
  assert.ok(holding, 'w1 was caught holding a job');
  await w1.stop('SIGKILL');
  const atKill = await health<Health>(A.url);
  workers.get('w2')!.child.kill('SIGCONT');
  assert.ok((atKill.redis.queue?.depth ?? 0) > 0, 'jobs still queued when w1 died, so it was holding one');
  for (const r of reqs) {
    const o = await c.outcome(r.id, 300_000);
    assert.ok(!('type' in o), `tile ${r.x},${r.y}: ${'type' in o ? o.code : ''}`);
  }
  c.close();
  const h = await health<Health>(A.url);
  assert.ok(h.redis.counters.stalled >= 1, `BullMQ reported the killed worker's job as stalled (${h.redis.counters.stalled})`);
  assert.equal(h.redis.queue?.depth, 0);
});

test('Redis restarted: /health and the log say so, tile requests get SR_ERR_QUEUE_UNAVAILABLE, then all recovers without a restart', async () => {
  await redis.stop();
  await waitUntil('A sees redis down', async () => (await health<Health>(A.url)).redis.status === 'down');
  await A.proc.line(/redis: lost the connection/);
  // A block nobody computed yet: the 512x512 image is new to this Redis, so use a fresh 8x tile of a third image.
  const { file } = await testImage(200, 136, 9, 'scale-third.tif');
  const c = await TestClient.connect(A.wsUrl);
  c.send({ type: 'open-image', id: 1, path: file });
  const third = (await c.waitFor<Opened>((m) => m.type === 'image-opened', 300_000)).image;
  c.send({ type: 'tiles', requests: [{ id: 2, imageId: third.imageId, level: third.nativeLevel + 3, x: 0, y: 0 }] });
  assert.equal((await c.errorFor(2, 180_000)).code, 'SR_ERR_QUEUE_UNAVAILABLE');
  await redis.start();
  await waitUntil('A sees redis up', async () => (await health<Health>(A.url)).redis.status === 'up', 180_000);
  await A.proc.line(/redis: connected to .* again after/);
  await waitUntil('w2 back', async () => (await health<Health>(A.url)).redis.workersSeen >= 1, 180_000);
  c.send({ type: 'tiles', requests: [{ id: 3, imageId: third.imageId, level: third.nativeLevel + 3, x: 0, y: 0 }] });
  const o = await c.outcome(3, 300_000);
  assert.ok(!('type' in o), `the tile arrives after the restart (${'type' in o ? o.code : ''})`);
  c.close();
});

test('an upload through server B lands in the shared folder, by its content hash, and a worker computes its tiles from there', async () => {
  const { file } = await testImage(128, 128, 11, 'scale-upload.tif');
  const bytes = new Uint8Array(await readFile(file));
  const c = await TestClient.connect(B.wsUrl);
  c.send({ type: 'upload-begin', id: 1, name: 'uploaded.tif', bytes: bytes.byteLength });
  c.ws.send(encodeChunk('uploadChunk', 1, 0, bytes, true));
  c.send({ type: 'upload-end', id: 1 });
  const up = (await c.waitFor<Opened>((m) => m.type === 'image-opened' && m.id === 1, 300_000)).image;
  const images = await readdir(path.join(shared, 'images'));
  const sha = createHash('sha256').update(bytes).digest('hex');
  assert.ok(images.includes(`${sha}.tif`), `images/${sha}.tif in the shared folder: ${images.join(', ')}`);
  assert.deepEqual(
    (await readdir(path.join(shared, 'uploads'))).filter((f) => !f.endsWith('.partial')),
    [],
    'nothing left in uploads/',
  );
  const before = inferredBy(await health<Health>(B.url));
  c.send({ type: 'tiles', requests: [{ id: 2, imageId: up.imageId, level: up.nativeLevel + 1, x: 0, y: 0 }] });
  const o = await c.outcome(2, 300_000);
  assert.ok(!('type' in o), `the uploaded image's SR tile (${'type' in o ? o.code : ''})`);
  assert.equal(inferredBy(await health<Health>(B.url)) - before, 4, 'a worker inferred its 2x2 blocks');
  c.close();
});

test("a server killed (kill -9) while its jobs are queued takes no one else's work down: server B gets every tile", async () => {
  // A fourth image, new to both servers: 256x256 = 16 blocks, one 4x tile each, asked for through A and B.
  const { file } = await testImage(256, 256, 10, 'scale-fourth.tif');
  const open = async (url: string): Promise<{ c: TestClient; image: Opened['image'] }> => {
    const c = await TestClient.connect(url);
    c.send({ type: 'open-image', id: 1, path: file });
    return { c, image: (await c.waitFor<Opened>((m) => m.type === 'image-opened', 300_000)).image };
  };
  const a = await open(A.wsUrl);
  const b = await open(B.wsUrl);
  const reqs = (imageId: string) =>
    Array.from({ length: 16 }, (_, i) => ({ id: 10 + i, imageId, level: b.image.nativeLevel + 2, x: i % 4, y: Math.floor(i / 4) }));
  await waitUntil('B sees redis up', async () => (await health<Health>(B.url)).redis.status === 'up', 180_000);
  const inferredBefore = inferredBy(await health<Health>(B.url));
  const addedByA = (await health<Health>(A.url)).redis.counters.added;
  a.c.send({ type: 'tiles', requests: reqs(a.image.imageId) });
  b.c.send({ type: 'tiles', requests: reqs(b.image.imageId) });
  // One worker thread left (w2): A dies as soon as it has queued jobs, while most of them still wait.
  await waitUntil('A queued jobs', async () => (await health<Health>(A.url)).redis.counters.added > addedByA, 180_000, 20);
  await A.proc.stop('SIGKILL');
  for (const r of reqs(b.image.imageId)) {
    const o = await b.c.outcome(r.id, 300_000);
    assert.ok(!('type' in o), `tile ${r.x},${r.y} through B: ${'type' in o ? o.code : ''}`);
  }
  b.c.close();
  const h = await health<Health>(B.url);
  assert.equal(h.redis.status, 'up');
  assert.equal(inferredBy(h) - inferredBefore, 16, 'each of the 16 blocks inferred once, whichever server queued it');
  assert.equal(h.redis.waitingHere, 0, 'nothing left waiting at B');
});
