// Bad input never crashes the server or another client's work: malformed, unknown and invalid messages
// and frames get coded errors on a connection that stays usable; an oversized message closes only its own
// connection; corrupt, out-of-order, oversized and over-pixel uploads are refused while other clients'
// tiles keep arriving; a good chunked upload opens the same image as its file.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { encodeChunk, type ImageInfo, type ServerMessage } from '../../server/protocol';
import { startServer, testImage, TestClient, type TestServer } from './helpers';

type Opened = Extract<ServerMessage, { type: 'image-opened' }>;
let srv: TestServer;
let file: string;
let info: ImageInfo;

before(async () => {
  ({ file } = await testImage(200, 150, 8));
  srv = await startServer({ maxPayloadBytes: 64 << 10, maxUploadBytes: 1 << 20, maxImagePixels: 200 * 150 });
  const c = await TestClient.connect(srv.wsUrl);
  c.send({ type: 'open-image', id: 1, path: file });
  info = (await c.waitFor<Opened>((m) => m.type === 'image-opened')).image;
  c.close();
  srv.server.store.get(info.imageId).pinned = true;
});
after(() => srv.server.close());

/** Sends `bytes` as an upload in chunks of `size`; returns the outcome message. */
async function upload(c: TestClient, id: number, bytes: Uint8Array, size = 16 << 10, declared = bytes.byteLength): Promise<ServerMessage> {
  c.send({ type: 'upload-begin', id, name: 'x.tif', bytes: declared });
  for (let seq = 0, o = 0; o < bytes.byteLength; seq++, o += size) {
    c.ws.send(encodeChunk('uploadChunk', id, seq, bytes.subarray(o, o + size), o + size >= bytes.byteLength));
  }
  c.send({ type: 'upload-end', id });
  return c.waitFor((m) => (m.type === 'image-opened' || m.type === 'error') && m.id === id);
}

test('malformed, unknown and invalid messages get codes; the connection stays usable', async () => {
  const c = await TestClient.connect(srv.wsUrl);
  const before1 = c.messages.length;
  c.send('{"type": "tiles", ');
  c.send('"just a string"');
  c.send(JSON.stringify({ type: 'launch-missiles', id: 3 }));
  c.send(JSON.stringify({ type: 'tiles', requests: [{ id: 4, imageId: info.imageId, level: 1.5, x: 0, y: 0 }] }));
  c.send(JSON.stringify({ type: 'hello', version: 1 }));
  c.ws.send(new Uint8Array([1, 2, 3])); // not a frame
  c.ws.send(encodeChunk('uploadChunk', 77, 0, new Uint8Array(4), true)); // no such upload
  c.send(
    JSON.stringify({
      type: 'tiles',
      requests: [
        { id: 5, imageId: info.imageId, level: info.nativeLevel + 1, x: 0, y: 0 },
        { id: 5, imageId: info.imageId, level: 0, x: 0, y: 0 },
      ],
    }),
  );
  await c.frame(5);
  const errors = c.messages.slice(before1).filter((m): m is Extract<ServerMessage, { type: 'error' }> => m.type === 'error');
  assert.deepEqual(
    errors.map((e) => [e.code, e.id]),
    [
      ['SR_ERR_BAD_MESSAGE', undefined],
      ['SR_ERR_BAD_MESSAGE', undefined],
      ['SR_ERR_UNKNOWN_TYPE', 3],
      ['SR_ERR_BAD_MESSAGE', undefined],
      ['SR_ERR_BAD_FRAME', undefined],
      ['SR_ERR_UPLOAD', 77],
      ['SR_ERR_DUPLICATE_ID', 5],
    ],
  );
  c.close();
});

test('an oversized message closes only its own connection (1009); other clients carry on', async () => {
  const big = await TestClient.connect(srv.wsUrl);
  const other = await TestClient.connect(srv.wsUrl);
  big.send(JSON.stringify({ type: 'status', pad: 'x'.repeat(100 << 10) }));
  assert.equal(await big.closed(), 1009);
  other.send({ type: 'tiles', requests: [{ id: 1, imageId: info.imageId, level: info.nativeLevel + 2, x: 1, y: 1 }] });
  assert.equal((await other.frame(1)).header.level, info.nativeLevel + 2);
  other.close();
});

test("a corrupt upload is refused while another client's tiles still arrive", async () => {
  const bad = await TestClient.connect(srv.wsUrl);
  const good = await TestClient.connect(srv.wsUrl);
  const level = info.nativeLevel + 3;
  good.send({ type: 'tiles', requests: [0, 1, 2, 3].map((x) => ({ id: 10 + x, imageId: info.imageId, level, x, y: 2 })) });
  const garbage = new Uint8Array(50_000).map((_, i) => (i * 7919) % 251);
  garbage.set([0x49, 0x49, 0x2a, 0x00, 0xff, 0xff, 0xff, 0x7f]); // a TIFF header whose first IFD is far past the end
  const e = await upload(bad, 1, garbage);
  assert.equal(e.type, 'error');
  assert.ok(e.type === 'error' && e.code === 'SR_ERR_IMAGE_DECODE', JSON.stringify(e));
  const notImage = await upload(bad, 2, new TextEncoder().encode('hello, not an image'));
  assert.ok(notImage.type === 'error' && notImage.code === 'SR_ERR_IMAGE_DECODE', JSON.stringify(notImage));
  for (const id of [10, 11, 12, 13]) await good.frame(id);
  assert.equal((await fetch(`${srv.url}/health`)).status, 200);
  // The failed uploads left nothing behind and the connection still works.
  bad.send({ type: 'tiles', requests: [{ id: 3, imageId: info.imageId, level: 0, x: 0, y: 0 }] });
  await bad.frame(3);
  bad.close();
  good.close();
});

test('uploads: chunk order, declared size and limits are enforced; a good upload opens the same image', async () => {
  const c = await TestClient.connect(srv.wsUrl);
  const bytes = new Uint8Array(await readFile(file));
  const ok = await upload(c, 1, bytes, 10_000);
  assert.ok(ok.type === 'image-opened' && ok.image.imageId === info.imageId, 'same content hash, same image');

  c.send({ type: 'upload-begin', id: 2, name: 'a.tif', bytes: 100 });
  c.ws.send(encodeChunk('uploadChunk', 2, 1, new Uint8Array(50), false)); // seq 1 before 0
  assert.equal((await c.errorFor(2)).code, 'SR_ERR_UPLOAD');

  const short = await upload(c, 3, bytes.subarray(0, 1000), 500, 2000); // ends early
  assert.ok(short.type === 'error' && short.code === 'SR_ERR_UPLOAD');
  const long = await upload(c, 4, bytes.subarray(0, 3000), 1000, 2000); // more than declared
  assert.ok(long.type === 'error' && long.code === 'SR_ERR_UPLOAD');

  c.send({ type: 'upload-begin', id: 5, name: 'huge.tif', bytes: 2 << 20 }); // over maxUploadBytes
  assert.equal((await c.errorFor(5)).code, 'SR_ERR_TOO_LARGE');

  const wide = await testImage(300, 150, 9); // 45000 pixels > maxImagePixels
  const tooMany = await upload(c, 6, new Uint8Array(await readFile(wide.file)), 32 << 10);
  assert.ok(tooMany.type === 'error' && tooMany.code === 'SR_ERR_TOO_LARGE', JSON.stringify(tooMany));
  c.close();
});

test('REST uploads: corrupt -> 422 with a code, too large -> 413, good -> 201', async () => {
  const post = (body: Uint8Array) =>
    fetch(`${srv.url}/api/v1/images?name=u.tif`, {
      method: 'POST',
      body: Buffer.from(body),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
  const corrupt = await post(new TextEncoder().encode('not an image at all'));
  assert.equal(corrupt.status, 422);
  assert.equal(((await corrupt.json()) as { error: { code: string } }).error.code, 'SR_ERR_IMAGE_DECODE');
  const big = await post(new Uint8Array((1 << 20) + 1));
  assert.equal(big.status, 413);
  assert.equal(((await big.json()) as { error: { code: string } }).error.code, 'SR_ERR_TOO_LARGE');
  const good = await post(new Uint8Array(await readFile(file)));
  assert.equal(good.status, 201);
  assert.equal(((await good.json()) as ImageInfo).imageId, info.imageId);
});

test('versioning: the server selects phasesr.v1; another hello version is refused with a code and close 1002', async () => {
  const c = await TestClient.connect(srv.wsUrl);
  assert.equal(c.ws.protocol, 'phasesr.v1');
  c.send({ type: 'hello', version: 2 });
  assert.equal((await c.waitFor<Extract<ServerMessage, { type: 'error' }>>((m) => m.type === 'error')).code, 'SR_ERR_PROTOCOL_VERSION');
  assert.equal(await c.closed(), 1002);
  await assert.rejects(TestClient.connect(srv.wsUrl, { protocols: ['phasesr.v9'] }));
});
