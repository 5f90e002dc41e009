// A tile through the server on the WebGPU engine equals the same tile from a server on the CPU engine
// (float32 tiles, 1e-4 in normalised units), with one inference each; /health names the engine and its
// adapter. Runs for real on the Vulkan adapter there is (lavapipe in CI): one 32-pixel LR block keeps it short.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import type { ImageInfo, ServerMessage } from '../../server/protocol';
import { f32, startServer, testImage, TestClient, type TestServer } from './helpers';

let file: string;
const servers: TestServer[] = [];

before(async () => {
  ({ file } = await testImage(32, 32, 9));
});

after(async () => {
  for (const s of servers) await s.server.close();
});

async function tile(engine: 'ort-cpu' | 'ort-webgpu'): Promise<{ srv: TestServer; data: Float32Array; info: ImageInfo }> {
  const srv = await startServer({ engine, blockSize: 32 });
  servers.push(srv);
  const c = await TestClient.connect(srv.wsUrl);
  try {
    c.send({ type: 'open-image', id: 1, path: file });
    const info = (await c.waitFor<Extract<ServerMessage, { type: 'image-opened' }>>((m) => m.type === 'image-opened')).image;
    // The 8x level of a 32x32 image is one 256x256 tile: one LR block.
    c.send({ type: 'tiles', requests: [{ id: 2, imageId: info.imageId, level: info.nativeLevel + 3, x: 0, y: 0, encoding: 'f32' }] });
    const f = await c.frame(2, 120_000);
    return { srv, data: f32(f.payload), info };
  } finally {
    c.close();
  }
}

test('an 8x tile from the ort-webgpu server equals the ort-cpu tile; /health names the adapter', async () => {
  const cpu = await tile('ort-cpu');
  const gpu = await tile('ort-webgpu');
  assert.equal(gpu.data.length, 256 * 256);
  assert.equal(gpu.data.length, cpu.data.length);
  const { low, high } = cpu.info.percentiles;
  let d = 0;
  for (let i = 0; i < cpu.data.length; i++) d = Math.max(d, Math.abs(gpu.data[i]! - cpu.data[i]!) / (high - low));
  assert.ok(d <= 1e-4, `max abs diff ${d} (normalised)`);
  assert.ok(Math.max(...cpu.data) - Math.min(...cpu.data) > 0.1 * (high - low), 'the tile is not flat');
  assert.equal(gpu.srv.server.stats.blocksInferred, 1);
  assert.equal(cpu.srv.server.stats.blocksInferred, 1);

  const health = (await (await fetch(`${gpu.srv.url}/health`)).json()) as {
    engine: string;
    adapter?: { vendor: string; device: string; software: boolean };
  };
  assert.equal(health.engine, 'ort-webgpu');
  assert.ok(health.adapter && health.adapter.device.length > 0, JSON.stringify(health));
  assert.equal(typeof health.adapter.software, 'boolean');
  const cpuHealth = (await (await fetch(`${cpu.srv.url}/health`)).json()) as { engine: string; adapter?: unknown };
  assert.equal(cpuHealth.engine, 'ort-cpu');
  assert.equal(cpuHealth.adapter, undefined);
});
