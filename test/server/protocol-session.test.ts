// The shared client session on its own (the real-socket tests drive it through the Node client and the
// viewer): every tile request is answered exactly once, whichever way it ends, and uploads are cut to the
// server's chunk size. The transport here records what would go on the wire.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  acceptServerHello,
  decodeFrame,
  encodeFrame,
  PROTOCOL_VERSION,
  ProtocolSession,
  type ServerMessageOf,
  type TileAnswer,
} from '../../server/protocol';

const HELLO = {
  type: 'hello',
  version: PROTOCOL_VERSION,
  server: 'test',
  tileSize: 256,
  model: { name: 'body', scale: 8, sha256: 'x', trained: true, description: '' },
  limits: { maxPayloadBytes: 1 << 20, maxUploadBytes: 1 << 30, maxImagePixels: 1 << 30, maxQueuedPerConnection: 64, chunkBytes: 1000 },
} satisfies ServerMessageOf<'hello'>;

function session() {
  const wire: (string | Uint8Array)[] = [];
  const s = new ProtocolSession({ send: (d) => void wire.push(d), buffered: () => 0 }, HELLO);
  return {
    s,
    wire,
    json: () => wire.filter((d): d is string => typeof d === 'string').map((d) => JSON.parse(d) as Record<string, unknown>),
  };
}

const tileFrame = (id: number) =>
  encodeFrame(
    { kind: 'tile', requestId: id, layer: 'sr', encoding: 'png', level: 3, flags: 0, x: 0, y: 0, width: 1, height: 1 },
    new Uint8Array([7]),
  );

test('the hello check: a hello of this version is answered; anything else is a coded error', () => {
  const { reply } = acceptServerHello(JSON.stringify(HELLO), 'me');
  assert.deepEqual(JSON.parse(reply), { type: 'hello', version: PROTOCOL_VERSION, client: 'me' });
  assert.throws(() => acceptServerHello(JSON.stringify({ ...HELLO, version: PROTOCOL_VERSION + 1 }), 'me'), {
    code: 'SR_ERR_PROTOCOL_VERSION',
  });
  assert.throws(() => acceptServerHello(undefined, 'me'), { code: 'SR_CLIENT_PROTOCOL' });
});

test('each tile request is answered exactly once: frame, error, server cancel, client abandon, or close', () => {
  const { s, json } = session();
  const answers = new Map<number, TileAnswer[]>();
  const ids = s.requestTiles(
    Array.from({ length: 5 }, (_, i) => ({ imageId: 'a'.repeat(16), level: 3, x: i, y: 0 })),
    (id, a) => {
      answers.set(id, [...(answers.get(id) ?? []), a]);
    },
  );
  assert.equal(new Set(ids).size, 5);
  assert.equal(json()[0]!.type, 'tiles');
  const [a, b, c, d, e] = ids as [number, number, number, number, number];
  s.receive(tileFrame(a));
  s.receive(JSON.stringify({ type: 'error', id: b, code: 'SR_ERR_TILE_OUT_OF_RANGE', message: 'no' }));
  s.receive(JSON.stringify({ type: 'cancelled', ids: [c], reason: 'viewport' }));
  s.abandon([d], Object.assign(new Error('gone'), { code: 'SR_ERR_CANCELLED' }) as never);
  s.closedBy('1006');
  // Late replies to settled requests are dropped, not answered twice.
  s.receive(tileFrame(a));
  s.receive(tileFrame(d));
  s.receive(JSON.stringify({ type: 'cancelled', ids: [e], reason: 'closed' }));
  assert.deepEqual(
    ids.map((id) => answers.get(id)?.length),
    [1, 1, 1, 1, 1],
  );
  assert.equal(answers.get(a)![0]!.ok, true);
  assert.deepEqual(
    ids.slice(1).map((id) => (answers.get(id)![0] as { code: string }).code),
    ['SR_ERR_TILE_OUT_OF_RANGE', 'SR_ERR_CANCELLED', 'SR_ERR_CANCELLED', 'SR_CLIENT_CLOSED'],
  );
  assert.throws(() => s.send({ type: 'status' }), { code: 'SR_CLIENT_CLOSED' });
});

test('a malformed tile request is refused before anything is sent', () => {
  const { s, wire } = session();
  assert.throws(() => s.requestTiles([{ imageId: 'a'.repeat(16), level: 3, x: -1, y: 0 }], () => undefined), {
    code: 'SR_ERR_BAD_MESSAGE',
  });
  assert.equal(wire.length, 0);
});

test("an upload is cut to the server's chunk size, numbered, with the last frame flagged; a short file is an error", async () => {
  const { s, wire } = session();
  await s.upload(9, [new Uint8Array(2500), new Uint8Array(600)], 3100);
  const frames = wire.map((d) => decodeFrame(d as Uint8Array));
  assert.deepEqual(
    frames.map((f) => f.payload.byteLength),
    [1000, 1000, 500, 600],
  );
  assert.deepEqual(
    frames.map((f) => f.header.x),
    [0, 1, 2, 3],
  );
  assert.deepEqual(
    frames.map((f) => f.header.flags & 1),
    [0, 0, 0, 1],
  );
  await assert.rejects(s.upload(10, [new Uint8Array(10)], 11), { code: 'SR_CLIENT_UPLOAD' });
});

test('a result job collects its chunks and resolves at batch-done; status waiters fail when the connection closes', async () => {
  const { s } = session();
  const chunks: number[] = [];
  const job = s.resultJob(4, { chunk: (p) => void chunks.push(p.byteLength) });
  s.receive(JSON.stringify({ type: 'batch-result', id: 4, name: 'r.tif', width: 8, height: 8, dtype: 'uint16', bytes: 3, ms: 1 }));
  s.receive(
    encodeFrame(
      { kind: 'resultChunk', requestId: 4, layer: 'sr', encoding: 'png', level: 0, flags: 1, x: 0, y: 0, width: 0, height: 0 },
      new Uint8Array(3),
    ),
  );
  s.receive(JSON.stringify({ type: 'batch-done', id: 4, sha256: 'abc' }));
  const done = await job;
  assert.equal(done.sha256, 'abc');
  assert.deepEqual(chunks, [3]);
  const waiting = s.status();
  s.closedBy('1001');
  await assert.rejects(waiting, { code: 'SR_CLIENT_CLOSED' });
});
