// Greedy clients, over real sockets: one connection flooding the engine with new requests does not starve
// another (clients take turns).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import type { ImageInfo, ServerMessage } from '../../server/protocol';
import { startServer, testImage, TestClient, type TestServer } from './helpers';

type Opened = Extract<ServerMessage, { type: 'image-opened' }>;
let srv: TestServer;
let file: string;
before(async () => {
  ({ file } = await testImage(256, 256, 11));
  srv = await startServer();
});
after(() => srv.server.close());

async function open(c: TestClient, id: number): Promise<ImageInfo> {
  c.send({ type: 'open-image', id, path: file });
  return (await c.waitFor<Opened>((m) => m.type === 'image-opened' && m.id === id)).image;
}

test('a flooding client does not starve another: their visible requests are served in turns', async () => {
  const flood = await TestClient.connect(srv.wsUrl);
  const quiet = await TestClient.connect(srv.wsUrl);
  const info = await open(flood, 1);
  await open(quiet, 1);
  const level = info.nativeLevel + 2; // 4x: 4x4 tiles, each one 64-pixel LR block, so every request is one engine job
  const tile = (id: number, k: number) => ({ id, imageId: info.imageId, level, x: k % 4, y: Math.floor(k / 4), encoding: 'u16', priority: 'visible' });
  const calls0 = srv.server.stats.engineCalls;
  const arrival: string[] = [];
  flood.ws.on('message', (_d, bin) => { if (bin) arrival.push('flood'); });
  quiet.ws.on('message', (_d, bin) => { if (bin) arrival.push('quiet'); });
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
