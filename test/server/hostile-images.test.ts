// Hostile image files, over real sockets (WebSocket upload, REST upload, open by path): BigTIFF headers
// with absurd offsets and counts, and a tiled TIFF whose tiles are not in the file, are decode errors with a
// code, not internal errors and not a silently blank giant image; the server goes on serving.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { encodeChunk } from '../../server/protocol';
import { startServer, testImage, TestClient, type TestServer } from './helpers';

let srv: TestServer;
let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'phasesr-hostile-img-'));
  srv = await startServer({ allowDirs: [dir] });
});
after(() => srv.server.close());

/** A BigTIFF header (II, 43, 8, 0) whose first IFD is at `ifd`, followed by `rest`. */
function bigTiff(ifd: bigint, rest: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(16);
  h.write('II', 0, 'latin1');
  h.writeUInt16LE(43, 2);
  h.writeUInt16LE(8, 4);
  h.writeBigUInt64LE(ifd, 8);
  return Buffer.concat([h, rest]);
}

/** A classic little-endian TIFF with one IFD at 8: entries [tag, type, count, value] (values inline). */
function classicTiff(entries: [number, number, number, number][], data: Buffer): Buffer {
  const ifdLen = 2 + entries.length * 12 + 4;
  const dataAt = 8 + ifdLen;
  const b = Buffer.alloc(dataAt);
  b.write('II', 0, 'latin1');
  b.writeUInt16LE(42, 2);
  b.writeUInt32LE(8, 4);
  b.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, count, value], i) => {
    const o = 10 + i * 12;
    b.writeUInt16LE(tag, o);
    b.writeUInt16LE(type, o + 2);
    b.writeUInt32LE(count, o + 4);
    if (type === 3) b.writeUInt16LE(value, o + 8);
    else b.writeUInt32LE(value === -1 ? dataAt : value, o + 8);
  });
  return Buffer.concat([b, data]);
}

const HOSTILE: Record<string, Buffer> = {
  // First IFD at 2^60.
  'ifd-2e60.tif': bigTiff(1n << 60n),
  // First IFD at 16 with 2^40 entries.
  'entries-2e40.tif': bigTiff(
    16n,
    (() => {
      const b = Buffer.alloc(8 + 20 + 8);
      b.writeBigUInt64LE(1n << 40n, 0);
      return b;
    })(),
  ),
  // 65000x65000 16-bit, 256x256 tiles, but one 16-byte tile in the file.
  'one-tile.tif': classicTiff(
    [
      [256, 4, 1, 65000],
      [257, 4, 1, 65000],
      [258, 3, 1, 16],
      [259, 3, 1, 1],
      [262, 3, 1, 1],
      [277, 3, 1, 1],
      [322, 3, 1, 256],
      [323, 3, 1, 256],
      [324, 4, 1, -1],
      [325, 4, 1, 16],
    ],
    Buffer.alloc(16, 7),
  ),
  // A small striped image whose one strip lies past the end of the file.
  'strip-past-end.tif': classicTiff(
    [
      [256, 4, 1, 64],
      [257, 4, 1, 64],
      [258, 3, 1, 16],
      [259, 3, 1, 1],
      [262, 3, 1, 1],
      [277, 3, 1, 1],
      [273, 4, 1, -1],
      [278, 4, 1, 64],
      [279, 4, 1, 64 * 64 * 2],
    ],
    Buffer.alloc(100),
  ),
};

test('hostile TIFF headers and missing tiles are SR_ERR_IMAGE_DECODE on every path, and nothing else breaks', async () => {
  const c = await TestClient.connect(srv.wsUrl);
  let id = 1;
  for (const [name, bytes] of Object.entries(HOSTILE)) {
    const file = path.join(dir, name);
    await writeFile(file, bytes);
    // WebSocket upload.
    const up = id++;
    c.send({ type: 'upload-begin', id: up, name, bytes: bytes.byteLength });
    c.ws.send(encodeChunk('uploadChunk', up, 0, new Uint8Array(bytes), true));
    c.send({ type: 'upload-end', id: up });
    const e1 = await c.errorFor(up);
    assert.equal(e1.code, 'SR_ERR_IMAGE_DECODE', `${name} (upload): ${e1.code} ${e1.message}`);
    // Open by path.
    const op = id++;
    c.send({ type: 'open-image', id: op, path: file });
    const e2 = await c.errorFor(op);
    assert.equal(e2.code, 'SR_ERR_IMAGE_DECODE', `${name} (path): ${e2.code} ${e2.message}`);
    // REST upload.
    const r = await fetch(`${srv.url}/api/v1/images?name=${name}`, { method: 'POST', body: bytes });
    const body = (await r.json()) as { error?: { code: string; message: string } };
    assert.equal(body.error?.code, 'SR_ERR_IMAGE_DECODE', `${name} (REST): ${r.status} ${JSON.stringify(body)}`);
    assert.equal(r.status, 422);
  }
  assert.equal(srv.server.store.list().length, 0, 'a hostile file was opened');
  assert.deepEqual(
    srv.logs.filter((l) => /internal|RangeError|ERR_OUT_OF_RANGE/i.test(l)),
    [],
  );
  // A good image still opens and serves a tile after all that.
  const { file } = await testImage(64, 48, 3);
  const good = new Uint8Array(await readFile(file));
  c.send({ type: 'upload-begin', id: 99, name: 'good.tif', bytes: good.byteLength });
  c.ws.send(encodeChunk('uploadChunk', 99, 0, good, true));
  c.send({ type: 'upload-end', id: 99 });
  const opened = await c.waitFor((m) => m.type === 'image-opened' && m.id === 99);
  assert.equal(opened.type, 'image-opened');
  if (opened.type !== 'image-opened') return;
  c.send({ type: 'tiles', requests: [{ id: 100, imageId: opened.image.imageId, level: 0, x: 0, y: 0 }] });
  await c.frame(100);
  c.close();
});
