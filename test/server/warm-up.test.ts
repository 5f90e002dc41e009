// The engine's warm-up at server start (server/engine/warm-up.ts): one zero block per LR window side the
// server serves, handed to the engine before it listens, so a fresh server's first tile is not the
// engine's first run. /health reports it without waiting for it; a tile asked meanwhile queues behind it.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';

import { haloFor } from '../../models';
import { PhasesrServer, SERVER_DEFAULTS } from '../../server';
import type { WarmUpReport } from '../../server/engine/warm-up';
import type { WorkerEngine } from '../../server/engine/worker-engine';
import type { ServerMessage } from '../../server/protocol';
import { testTempRoot } from '../helpers/shared';
import { startServer, testImage, TestClient, TINY_CONFIG, tinyModelDir } from './helpers';

const halo = haloFor(TINY_CONFIG);

async function openImage(c: TestClient, file: string) {
  c.send({ type: 'open-image', id: 1, path: file });
  return (await c.waitFor<Extract<ServerMessage, { type: 'image-opened' }>>((m) => m.type === 'image-opened')).image;
}

async function healthOf(url: string): Promise<{ warmUp: WarmUpReport }> {
  return (await (await fetch(`${url}/health`)).json()) as { warmUp: WarmUpReport };
}

test('a fresh server warms its engine on 64 and 32 windows and its largest merged window before it listens; the first tile is its fourth run', async () => {
  const { file } = await testImage(300, 200, 3);
  const server = await PhasesrServer.create({
    port: 0,
    model: await tinyModelDir(),
    threads: 1,
    log: () => {},
    allowDirs: [testTempRoot()],
  });
  try {
    const engine = server.engine as WorkerEngine;
    // Handed to the engine already (its replies come as events, after this), and reported without waiting.
    assert.equal(engine.runs, 3);
    const h0 = (await server.health()) as { warmUp: WarmUpReport };
    // The merged window: a row of the default --merge-blocks (12) blocks of 64 plus halo, as a square of as many pixels.
    const n = SERVER_DEFAULTS.mergeBlocks;
    assert.ok(n > 1, 'merging is on by default');
    const merged = Math.ceil(Math.sqrt((n * 64 + 2 * halo) * (64 + 2 * halo)));
    assert.deepEqual(h0.warmUp, { state: 'running', windows: [64 + 2 * halo, 32 + 2 * halo, merged], runs: 0, ms: 0 });
    const url = await server.listen();
    const c = await TestClient.connect(`${url.replace('http:', 'ws:')}/ws`);
    try {
      const info = await openImage(c, file);
      // A cold view's first tile (one 32 block), asked as soon as the image is open: it waits for the warm-up.
      c.send({ type: 'tiles', requests: [{ id: 10, imageId: info.imageId, level: info.nativeLevel + 3, x: 3, y: 2, encoding: 'f32' }] });
      await c.frame(10, 600_000);
      const h = await healthOf(url);
      assert.equal(h.warmUp.state, 'done');
      assert.equal(h.warmUp.runs, 3);
      assert.deepEqual([server.stats.engineCalls, server.stats.firstBlocksInferred], [1, 1]);
      assert.equal(engine.runs, 4, 'the tile was the engine run after the three warm-up runs');
    } finally {
      c.close();
    }
  } finally {
    await server.close();
  }
});

test('--first-block 0 --merge-blocks 1: one window to warm; /health reports it done, then a tile is run 2', async () => {
  const { file } = await testImage(300, 200, 3);
  const srv = await startServer({ firstBlockSize: 0, mergeBlocks: 1 });
  const c = await TestClient.connect(srv.wsUrl);
  try {
    let h = await healthOf(srv.url);
    for (let i = 0; h.warmUp.state === 'running' && i < 6000; i++) {
      await sleep(100);
      h = await healthOf(srv.url);
    }
    assert.deepEqual({ ...h.warmUp, ms: 0 }, { state: 'done', windows: [64 + 2 * halo], runs: 1, ms: 0 });
    const info = await openImage(c, file);
    c.send({ type: 'tiles', requests: [{ id: 10, imageId: info.imageId, level: info.nativeLevel + 3, x: 3, y: 2, encoding: 'f32' }] });
    await c.frame(10, 600_000);
    assert.equal(srv.server.stats.engineCalls, 1);
    assert.equal((srv.server.engine as WorkerEngine).runs, 2);
  } finally {
    c.close();
    await srv.server.close();
  }
});
