// Greedy clients, over real sockets: uploads in progress are bounded per client and in total (one
// connection cannot take every file handle), open images are bounded per connection and in total (idle
// REST images make room, then close on their own), and what one client uploads is not listed to others,
// under ids no other server (or site) can predict; errors name no server folders.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import sharp from 'sharp';

import { encodeChunk, type ImageInfo, type ServerMessage } from '../../server/protocol';
import { startServer, testImage, TestClient, type TestServer } from './helpers';

type Opened = Extract<ServerMessage, { type: 'image-opened' }>;
let up: TestServer; // small upload limits
let im: TestServer; // small image limits
const files: string[] = [];
before(async () => {
  for (let seed = 1; seed <= 6; seed++) files.push((await testImage(64, 48, 10 + seed)).file);
  up = await startServer({ maxUploadsPerClient: 3, maxUploads: 5 });
  im = await startServer({ maxImagesPerClient: 2, maxOpenImages: 3, imageIdleMs: 500 });
});
after(async () => {
  await up.server.close();
  await im.server.close();
});

/** Errors with `code` among the answers to ids (after a status round trip, so every earlier message is in). */
async function errorsFor(c: TestClient, ids: number[]): Promise<Map<number, string>> {
  c.send({ type: 'status' });
  await c.waitFor((m) => m.type === 'status');
  const out = new Map<number, string>();
  for (const m of c.messages) if (m.type === 'error' && m.id !== undefined && ids.includes(m.id)) out.set(m.id, m.code);
  return out;
}

test('uploads in progress are bounded per client and in total; the bound frees when the client goes', async () => {
  const a = await TestClient.connect(up.wsUrl);
  const b = await TestClient.connect(up.wsUrl);
  const ids = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  for (const id of ids) a.send({ type: 'upload-begin', id, name: `a${id}.tif`, bytes: 1000 });
  const ea = await errorsFor(a, ids);
  assert.deepEqual(
    [...ea.keys()].sort((x, y) => x - y),
    [4, 5, 6, 7, 8, 9, 10],
    JSON.stringify([...ea]),
  );
  assert.ok([...ea.values()].every((c) => c === 'SR_ERR_TOO_MANY'));
  for (const id of [1, 2, 3]) b.send({ type: 'upload-begin', id, name: `b${id}.tif`, bytes: 1000 });
  const eb = await errorsFor(b, [1, 2, 3]);
  assert.deepEqual([...eb.entries()], [[3, 'SR_ERR_TOO_MANY']], 'the server-wide bound (5) holds across clients');
  const rest = await fetch(`${up.url}/api/v1/images?name=r.tif`, { method: 'POST', body: await readFile(files[0]!) });
  assert.equal(rest.status, 429);
  assert.equal(((await rest.json()) as { error: { code: string } }).error.code, 'SR_ERR_TOO_MANY');
  assert.equal((await fetch(`${up.url}/health`)).status, 200, 'the server still answers');
  assert.equal((await readdir(up.server.store.uploadDir)).filter((f) => !f.startsWith('results')).length, 5);
  // A leaves: its three slots and partial files go, and B can upload a whole image.
  a.close();
  await a.closed();
  const bytes = new Uint8Array(await readFile(files[0]!));
  for (let tries = 0; ; tries++) {
    // the close handler runs after the socket closes
    if (up.server.store.uploads.inUse === 2) break;
    assert.ok(tries < 200, `slots in use: ${up.server.store.uploads.inUse}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  b.send({ type: 'upload-begin', id: 20, name: 'whole.tif', bytes: bytes.byteLength });
  b.ws.send(encodeChunk('uploadChunk', 20, 0, bytes, true));
  b.send({ type: 'upload-end', id: 20 });
  await b.waitFor((m) => m.type === 'image-opened' && m.id === 20);
  b.close();
});

test('open images are bounded per connection and in total; idle REST images make room and then close', async () => {
  const a = await TestClient.connect(im.wsUrl);
  const open = async (c: TestClient, id: number, file: string): Promise<ServerMessage> => {
    c.send({ type: 'open-image', id, path: file });
    return c.waitFor((m) => (m.type === 'image-opened' || m.type === 'error') && 'id' in m && m.id === id);
  };
  assert.equal((await open(a, 1, files[0]!)).type, 'image-opened');
  assert.equal((await open(a, 2, files[1]!)).type, 'image-opened');
  const third = await open(a, 3, files[2]!);
  assert.equal(third.type === 'error' && third.code, 'SR_ERR_TOO_MANY', JSON.stringify(third));
  // REST opens fill the third place, each new one closing the least recently used idle one.
  const restOpen = async (file: string) =>
    fetch(`${im.url}/api/v1/images/open`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ path: file }),
    });
  const r1 = (await (await restOpen(files[2]!)).json()) as ImageInfo;
  const r2 = await restOpen(files[3]!);
  assert.equal(r2.status, 200);
  assert.equal(im.server.store.list().length, 3);
  assert.ok(!im.server.store.has(r1.imageId), 'the idle REST image made room');
  // A second connection takes the REST image's place; a third finds every place held by a connection.
  const b = await TestClient.connect(im.wsUrl);
  assert.equal((await open(b, 1, files[4]!)).type, 'image-opened');
  const c = await TestClient.connect(im.wsUrl);
  const full = await open(c, 1, files[5]!);
  assert.equal(full.type === 'error' && full.code, 'SR_ERR_TOO_MANY', JSON.stringify(full));
  const rFull = await restOpen(files[5]!);
  assert.equal(rFull.status, 429);
  // Connections leave; a REST image left alone closes after imageIdleMs.
  for (const x of [a, b, c]) x.close();
  await restOpen(files[0]!);
  for (let tries = 0; im.server.store.list().length > 0; tries++) {
    assert.ok(
      tries < 400,
      `still open: ${im.server.store
        .list()
        .map((i) => i.name)
        .join(', ')}`,
    );
    await new Promise((r) => setTimeout(r, 50));
  }
});

test('a WebSocket upload is not listed to others, ids are per server, and errors name no server folder', async () => {
  const bytes = new Uint8Array(await readFile(files[1]!));
  const a = await TestClient.connect(up.wsUrl);
  a.send({ type: 'upload-begin', id: 1, name: 'mine.tif', bytes: bytes.byteLength });
  a.ws.send(encodeChunk('uploadChunk', 1, 0, bytes, true));
  a.send({ type: 'upload-end', id: 1 });
  const mine = (await a.waitFor<Opened>((m) => m.type === 'image-opened' && m.id === 1)).image;
  const listed = (await (await fetch(`${up.url}/api/v1/images`)).json()) as ImageInfo[];
  assert.ok(!listed.some((i) => i.imageId === mine.imageId), 'another client sees the upload listed');
  assert.doesNotMatch(await (await fetch(`${up.url}/list`)).text(), new RegExp(mine.imageId));
  // The same file opened by path on the server is listed; the id is not the content hash, and differs per server.
  const sha = createHash('sha256').update(bytes).digest('hex');
  assert.notEqual(mine.imageId, sha.slice(0, 16));
  const other = (await (
    await fetch(`${im.url}/api/v1/images/open`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ path: files[1] }),
    })
  ).json()) as ImageInfo;
  assert.notEqual(other.imageId, mine.imageId);
  // Failed uploads: a non-image, and a big PNG cut in half (decoded through a temporary copy).
  const big = await sharp(Buffer.alloc(5000 * 4000, 90), { raw: { width: 5000, height: 4000, channels: 1 } })
    .png()
    .toBuffer();
  const cases: [string, Uint8Array][] = [
    ['junk.tif', new Uint8Array(4000).fill(7)],
    ['cut.png', new Uint8Array(big.subarray(0, big.byteLength >> 1))],
  ];
  let id = 10;
  for (const [name, data] of cases) {
    a.send({ type: 'upload-begin', id, name, bytes: data.byteLength });
    a.ws.send(encodeChunk('uploadChunk', id, 0, data, true));
    a.send({ type: 'upload-end', id });
    const e = await a.errorFor(id, 120_000);
    assert.match(e.code, /^SR_ERR_IMAGE_/, `${name}: ${e.code} ${e.message}`);
    assert.ok(e.message.includes(name), e.message);
    assert.ok(!e.message.includes(up.server.store.uploadDir) && !/phasesr-(uploads|src)-/.test(e.message), `${name}: ${e.message}`);
    id++;
  }
  a.close();
});
