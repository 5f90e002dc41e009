// Greedy clients, over real sockets: one connection flooding the engine with new requests does not starve
// another (clients take turns), and a client's own newer requests do not starve its older ones (ageing).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import type { ImageInfo, ServerMessage } from '../../server/protocol';
import { AGE_AFTER_CALLS } from '../../server/tiles/inference-queue';
import { startServer, testImage, TestClient, type TestServer } from './helpers';

type Opened = Extract<ServerMessage, { type: 'image-opened' }>;
let srv: TestServer;
let file: string;
let big: string;
before(async () => {
  ({ file } = await testImage(256, 256, 11));
  ({ file: big } = await testImage(512, 512, 12));
  // --merge-blocks 1: these tests count one engine call per block and the order blocks run in.
  srv = await startServer({ mergeBlocks: 1 });
});
after(() => srv.server.close());

async function open(c: TestClient, id: number, path = file): Promise<ImageInfo> {
  c.send({ type: 'open-image', id, path });
  return (await c.waitFor<Opened>((m) => m.type === 'image-opened' && m.id === id)).image;
}

test('a flooding client does not starve another: their visible requests are served in turns', async () => {
  const flood = await TestClient.connect(srv.wsUrl);
  const quiet = await TestClient.connect(srv.wsUrl);
  const info = await open(flood, 1);
  await open(quiet, 1);
  const level = info.nativeLevel + 2; // 4x: 4x4 tiles, each one 64-pixel LR block, so every request is one engine job
  const tile = (id: number, k: number) => ({
    id,
    imageId: info.imageId,
    level,
    x: k % 4,
    y: Math.floor(k / 4),
    encoding: 'u16',
    priority: 'visible',
  });
  const calls0 = srv.server.stats.engineCalls;
  const arrival: string[] = [];
  flood.ws.on('message', (_d, bin) => {
    if (bin) arrival.push('flood');
  });
  quiet.ws.on('message', (_d, bin) => {
    if (bin) arrival.push('quiet');
  });
  flood.send({ type: 'tiles', requests: Array.from({ length: 6 }, (_, i) => tile(100 + i, i)) });
  quiet.send({ type: 'tiles', requests: [6, 7].map((k, i) => tile(200 + i, k)) });
  // The quiet client's requests are in the queue (its status reply comes after them) before the flood's
  // next six, which are newer.
  quiet.send({ type: 'status' });
  await quiet.waitFor((m) => m.type === 'status');
  flood.send({ type: 'tiles', requests: Array.from({ length: 6 }, (_, i) => tile(300 + i, 8 + i)) });
  for (const id of [200, 201]) {
    const o = await quiet.outcome(id, 300_000);
    assert.ok('header' in o, JSON.stringify(o));
  }
  const floodBefore = arrival.slice(0, arrival.lastIndexOf('quiet')).filter((a) => a === 'flood').length;
  // Turns: flood (already running), quiet, flood, quiet; newest-first over all clients would have served
  // the flood's second six first.
  assert.ok(floodBefore <= 3, `the flooding client got ${floodBefore} tiles before the quiet one got its 2`);
  for (const id of [100, 101, 102, 103, 104, 105, 300, 301, 302, 303, 304, 305]) {
    assert.ok('header' in (await flood.outcome(id, 300_000)), `flood request ${id} got a tile`);
  }
  assert.equal(srv.server.stats.engineCalls - calls0, 14, 'one engine call per block');
  flood.close();
  quiet.close();
});

test("a client's oldest visible requests are served once they have waited AGE_AFTER_CALLS engine calls, not after all its newer ones", async () => {
  const c = await TestClient.connect(srv.wsUrl);
  const info = await open(c, 1, big);
  const level = info.nativeLevel + 2; // 4x: 8x8 tiles, each one 64-pixel LR block: one engine call per request
  const n = 48;
  const calls0 = srv.server.stats.engineCalls;
  // One message: every request waits from (about) the same engine call; ids 1..n, oldest to newest.
  c.send({
    type: 'tiles',
    requests: Array.from({ length: n }, (_, k) => ({
      id: 1 + k,
      imageId: info.imageId,
      level,
      x: k % 8,
      y: Math.floor(k / 8),
      encoding: 'u16',
      priority: 'visible',
    })),
  });
  for (let id = 1; id <= n; id++) assert.ok('header' in (await c.outcome(id, 300_000)), `request ${id} got a tile`);
  assert.equal(srv.server.stats.engineCalls - calls0, n, 'one engine call per block');
  const arrival = c.frames.map((f) => f.header.requestId);
  assert.equal(arrival.length, n);
  // Newest first alone serves ids 2 and 3 among the last three; ageing serves them right after the first
  // AGE_AFTER_CALLS calls (+1: the first job may start before the rest are queued).
  for (const id of [2, 3]) {
    const at = arrival.indexOf(id) + 1;
    assert.ok(at <= AGE_AFTER_CALLS + 4, `request ${id} was tile ${at} of ${n}: ${arrival.join(',')}`);
  }
  c.close();
});

test('a client that stops reading holds a bounded number of unread bytes; the rest of its tiles get SR_ERR_SLOW_CLIENT', async () => {
  const s = await startServer({ maxQueuedBytesPerConnection: 4 << 20 });
  try {
    const c = await TestClient.connect(s.wsUrl);
    c.send({ type: 'open-image', id: 1, path: file });
    const info = (await c.waitFor<Opened>((m) => m.type === 'image-opened')).image;
    c.ws.pause(); // reads nothing from here on
    // 300 requests for the one native f32 tile (256 KiB each, 75 MiB in all), in two messages (at most
    // MAX_TILES_PER_MESSAGE = 256 per message: one message of 300 is refused whole as SR_ERR_BAD_MESSAGE).
    const n = 300;
    const reqs = Array.from({ length: n }, (_, i) => ({
      id: 10 + i,
      imageId: info.imageId,
      level: info.nativeLevel,
      x: 0,
      y: 0,
      encoding: 'f32',
    }));
    c.send({ type: 'tiles', requests: reqs.slice(0, 150) });
    c.send({ type: 'tiles', requests: reqs.slice(150) });
    const answered = () => s.server.stats.tilesSent + s.server.stats.errors;
    for (let t = 0; answered() < n && t < 6000; t++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(answered(), n, 'the server answered every request (frame or error) while the client was not reading');
    c.ws.resume();
    const outcomes = await Promise.all(Array.from({ length: n }, (_, i) => c.outcome(10 + i, 60_000)));
    const frames = outcomes.filter((o) => 'header' in o).length;
    const slow = outcomes.filter((o) => 'code' in o && o.code === 'SR_ERR_SLOW_CLIENT').length;
    assert.equal(frames + slow, n);
    // 4 MiB in the server plus what the kernel's socket buffers hold (a few MiB on loopback): far below 75 MiB.
    assert.ok(frames * 256 * 1024 <= 32 << 20, `${frames} tiles (${frames / 4} MiB) were queued for a client that read nothing`);
    // Once it reads again, the connection is served as before.
    c.send({ type: 'tiles', requests: [{ id: 5000, imageId: info.imageId, level: info.nativeLevel, x: 0, y: 0, encoding: 'f32' }] });
    assert.ok('header' in (await c.outcome(5000)));
    c.close();
  } finally {
    await s.server.close();
  }
});
