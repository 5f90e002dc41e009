// The typed client (server/client/phasesr-client.ts) against a real server on 127.0.0.1: open by path and
// by upload, tiles as an async iterator (frames equal the REST tile, errors per request), a malformed
// request refused locally, an early break cancels the rest, status, and the handshake refusals.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { PhasesrClient, type PhasesrClientError, toWsUrl } from '../../server/client/phasesr-client';
import { startServer, testImage, type TestServer } from './helpers';

let srv: TestServer;
let file: string;

before(async () => {
  ({ file } = await testImage(300, 200, 11, 'client-test.tif'));
  srv = await startServer();
});

after(async () => {
  await srv.server.close();
});

test('toWsUrl accepts ws/http URLs with or without /ws', () => {
  assert.equal(toWsUrl('ws://127.0.0.1:8080'), 'ws://127.0.0.1:8080/ws');
  assert.equal(toWsUrl('http://127.0.0.1:8080/'), 'ws://127.0.0.1:8080/ws');
  assert.equal(toWsUrl('127.0.0.1:9000'), 'ws://127.0.0.1:9000/ws');
  assert.equal(toWsUrl('https://h:1/ws'), 'wss://h:1/ws');
});

test('openImage and requestTiles: frames equal the REST tiles; an out-of-range tile is an error outcome', async () => {
  const c = await PhasesrClient.connect(srv.url);
  assert.equal(c.hello.model.name, 'tiny');
  const img = await c.openImage({ path: file });
  assert.deepEqual([img.width, img.height], [300, 200]);
  const lv = img.levels[img.nativeLevel + 1]!;
  const outcomes = [];
  for await (const t of c.requestTiles([
    { imageId: img.imageId, level: img.nativeLevel + 1, x: 1, y: 0 },
    { imageId: img.imageId, level: img.nativeLevel + 1, x: lv.columns + 5, y: 0 },
  ]))
    outcomes.push(t);
  const ok = outcomes.find((o) => o.ok);
  const bad = outcomes.find((o) => !o.ok);
  assert.ok(ok?.ok && bad && !bad.ok);
  assert.equal(bad.code, 'SR_ERR_TILE_OUT_OF_RANGE');
  const rest = new Uint8Array(
    await (await fetch(`${srv.url}/api/v1/images/${img.imageId}/sr_files/${img.nativeLevel + 1}/1_0.png`)).arrayBuffer(),
  );
  assert.deepEqual(new Uint8Array(ok.payload), rest);
  assert.deepEqual([ok.header.level, ok.header.x, ok.header.y], [img.nativeLevel + 1, 1, 0]);

  assert.throws(
    () => c.requestTiles([{ imageId: img.imageId, level: 3, x: -1, y: 0 }]),
    (e: PhasesrClientError) => e.code === 'SR_ERR_BAD_MESSAGE',
  );
  await assert.rejects(c.openImage({ imageId: '0123456789abcdef' }), (e: PhasesrClientError) => e.code === 'SR_ERR_NOT_FOUND');
  await assert.rejects(c.openImage({ path: '/etc/passwd' }), (e: PhasesrClientError) => e.code === 'SR_ERR_PATH_FORBIDDEN');
  await c.close();
});

test('breaking out of requestTiles cancels what is still queued; status answers', async () => {
  const c = await PhasesrClient.connect(srv.url);
  const big = await testImage(768, 512, 12, 'client-pan.tif');
  const img = await c.uploadImage(big.file, 'uploaded.tif');
  assert.equal(img.name, 'uploaded.tif');
  const health = async () =>
    (await (await fetch(`${srv.url}/health`)).json()) as { stats: { blocksInferred: number }; queue: { queued: number; running: number } };
  const before = (await health()).stats.blocksInferred;
  const reqs = [];
  const top = img.levels[img.maxLevel]!;
  for (let y = 0; y < top.rows; y += 4)
    for (let x = 0; x < top.columns; x += 4) reqs.push({ imageId: img.imageId, level: img.maxLevel, x, y, encoding: 'u16' as const });
  assert.equal(reqs.length, 24, 'one 8x tile every 128 LR pixels: 24 distinct LR blocks');
  let got = 0;
  for await (const t of c.requestTiles(reqs)) {
    assert.ok(t.ok);
    if (++got === 1) break;
  }
  for (let i = 0; i < 600; i++) {
    const h = await health();
    if (h.queue.queued === 0 && h.queue.running === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const inferred = (await health()).stats.blocksInferred - before;
  assert.ok(inferred >= 1 && inferred < 24, `the cancelled blocks were not computed (${inferred} of 24)`);
  const s = await c.status();
  assert.equal(s.type, 'status');
  assert.equal(s.queued, 0);
  await c.close();
  assert.equal(c.closed, true);
});

test("a wrong token is refused at the handshake with the server's code", async () => {
  const guarded = await startServer({ token: 'sesame' });
  try {
    await assert.rejects(
      PhasesrClient.connect(guarded.url, { token: 'wrong' }),
      (e: PhasesrClientError) => e.code === 'SR_ERR_UNAUTHORIZED',
    );
    await assert.rejects(
      PhasesrClient.connect(guarded.url, { token: 'sesame', origin: 'http://evil.example' }),
      (e: PhasesrClientError) => e.code === 'SR_ERR_ORIGIN',
    );
    const ok = await PhasesrClient.connect(guarded.url, { token: 'sesame' });
    assert.equal(ok.hello.type, 'hello');
    await ok.close();
  } finally {
    await guarded.server.close();
  }
});
