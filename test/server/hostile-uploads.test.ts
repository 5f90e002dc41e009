// Hostile uploads, over real sockets: a repeated upload-end is answered once and loses nothing.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { encodeChunk, type ServerMessage } from '../../server/protocol';
import { SERVER_DEFAULTS } from '../../server/config';
import { startServer, testImage, TestClient, type TestServer } from './helpers';

type Msg<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;
let srv: TestServer;
let bytes: Uint8Array;
before(async () => {
  const { file } = await testImage(64, 48, 3);
  bytes = new Uint8Array(await readFile(file));
  srv = await startServer();
});
after(() => srv.server.close());

function beginAndSend(c: TestClient, id: number, data: Uint8Array, name = 'x.tif'): void {
  c.send({ type: 'upload-begin', id, name, bytes: data.byteLength });
  c.ws.send(encodeChunk('uploadChunk', id, 0, data, true));
}

test('a repeated upload-end is answered once and the upload survives', async () => {
  const c = await TestClient.connect(srv.wsUrl);
  // As many uploads at once as one client may have in progress (a 9th would be SR_ERR_TOO_MANY, issue 13).
  const n = SERVER_DEFAULTS.maxUploadsPerClient;
  for (let id = 1; id <= n; id++) {
    beginAndSend(c, id, bytes);
    c.send({ type: 'upload-end', id });
    c.send({ type: 'upload-end', id });
  }
  for (let id = 1; id <= n; id++) await c.waitFor((m) => m.type === 'image-opened' && m.id === id);
  c.send({ type: 'status' });
  await c.waitFor((m) => m.type === 'status');
  const answers = c.messages.filter((m) => (m.type === 'image-opened' || m.type === 'error') && 'id' in m && m.id !== undefined);
  assert.deepEqual(
    answers.map((m) => m.type),
    Array(n).fill('image-opened'),
    JSON.stringify(answers.filter((m) => m.type === 'error')),
  );
  const id = (answers[0] as Msg<'image-opened'>).image.imageId;
  assert.ok(srv.server.store.has(id));
  // The image is usable: a tile comes back.
  c.send({ type: 'tiles', requests: [{ id: 50, imageId: id, level: 0, x: 0, y: 0 }] });
  await c.frame(50);
  assert.equal(srv.logs.filter((l) => /ERR_CRYPTO|internal/i.test(l)).length, 0, srv.logs.join('\n'));
  c.close();
});
