// The wire protocol module on its own: binary frame round trip and refusals, message validation codes,
// the deep-zoom level numbering, and the tile-in-view test server and viewer share.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  decodeFrame,
  encodeChunk,
  encodeFrame,
  FLAG_LAST,
  FRAME_HEADER_BYTES,
  type MessageError,
  parseClientMessage,
  pyramidOf,
  tileInView,
  tileRect,
  viewportArea,
  type FrameHeader,
} from '../../server/protocol';

test('a tile frame round-trips with its header fields', () => {
  const h: FrameHeader = {
    kind: 'tile',
    requestId: 0xfffffffe,
    layer: 'bicubic',
    encoding: 'f32',
    level: 13,
    flags: 0,
    x: 70000,
    y: 3,
    width: 256,
    height: 17,
  };
  const payload = Uint8Array.from({ length: 40 }, (_, i) => i);
  const bytes = encodeFrame(h, payload);
  assert.equal(bytes.byteLength, FRAME_HEADER_BYTES + 40);
  assert.deepEqual([...bytes.subarray(0, 4)], [0x50, 0x53, 0x52, 0x31]); // "PSR1"
  const f = decodeFrame(bytes);
  assert.deepEqual(f.header, h);
  assert.deepEqual([...f.payload], [...payload]);
  const c = decodeFrame(encodeChunk('uploadChunk', 9, 4, new Uint8Array(3), true));
  assert.equal(c.header.kind, 'uploadChunk');
  assert.equal(c.header.x, 4);
  assert.equal(c.header.flags & FLAG_LAST, FLAG_LAST);
});

test('malformed frames are refused with SR_ERR_BAD_FRAME', () => {
  const good = encodeFrame(
    { kind: 'tile', requestId: 1, layer: 'sr', encoding: 'png', level: 0, flags: 0, x: 0, y: 0, width: 1, height: 1 },
    new Uint8Array(4),
  );
  const bad = (mutate: (b: Uint8Array) => Uint8Array) =>
    assert.throws(
      () => decodeFrame(mutate(good.slice())),
      (e: { code?: string }) => e.code === 'SR_ERR_BAD_FRAME',
    );
  bad((b) => b.subarray(0, 10)); // shorter than the header
  bad((b) => {
    b[0] = 0;
    return b;
  }); // magic
  bad((b) => {
    b[4] = 2;
    return b;
  }); // version
  bad((b) => {
    b[5] = 9;
    return b;
  }); // kind
  bad((b) => {
    b[7] = 7;
    return b;
  }); // encoding
  bad((b) => b.subarray(0, b.length - 1)); // payload length
});

test('client messages: defaults applied, bad JSON / unknown type / schema failures carry codes and ids', () => {
  const m = parseClientMessage(JSON.stringify({ type: 'tiles', requests: [{ id: 3, imageId: '0123456789abcdef', level: 2, x: 0, y: 1 }] }));
  assert.equal(m.type, 'tiles');
  if (m.type === 'tiles')
    assert.deepEqual([m.requests[0]!.layer, m.requests[0]!.encoding, m.requests[0]!.priority], ['sr', 'png', 'visible']);
  const code = (text: string) => {
    try {
      parseClientMessage(text);
      return 'ok';
    } catch (e) {
      return `${(e as MessageError).code}:${(e as MessageError).id ?? ''}`;
    }
  };
  assert.equal(code('{"type":'), 'SR_ERR_BAD_MESSAGE:');
  assert.equal(code('[1,2]'), 'SR_ERR_BAD_MESSAGE:');
  assert.equal(code('{"type":"explode","id":4}'), 'SR_ERR_UNKNOWN_TYPE:4');
  assert.equal(code('{"type":"open-image","id":5}'), 'SR_ERR_BAD_MESSAGE:5'); // neither path nor imageId
  assert.equal(code('{"type":"open-image","id":5,"path":"/a","imageId":"0123456789abcdef"}'), 'SR_ERR_BAD_MESSAGE:5');
  assert.equal(code('{"type":"tiles","requests":[{"id":0,"imageId":"x","level":-1,"x":0,"y":0}]}'), 'SR_ERR_BAD_MESSAGE:');
  assert.equal(code('{"type":"batch-begin","id":6,"name":"a.tif","bytes":10,"scale":3}'), 'SR_ERR_BAD_MESSAGE:6');
  assert.equal(code('{"type":"cancel"}'), 'SR_ERR_BAD_MESSAGE:');
  assert.equal(code('{"type":"cancel","all":true}'), 'ok');
});

test('deep-zoom levels: DZI numbering, native level = ceil(log2(max side)), model levels above it', () => {
  const p = pyramidOf(1000, 600, 8);
  assert.equal(p.nativeLevel, 10);
  assert.equal(p.maxLevel, 13);
  assert.deepEqual([p.levels[0]!.width, p.levels[0]!.height], [1, 1]);
  assert.deepEqual([p.levels[9]!.width, p.levels[9]!.height], [500, 300]);
  assert.deepEqual([p.levels[10]!.width, p.levels[10]!.height, p.levels[10]!.source], [1000, 600, 'native']);
  assert.deepEqual([p.levels[13]!.width, p.levels[13]!.height, p.levels[13]!.columns, p.levels[13]!.source], [8000, 4800, 32, 'model']);
  // OpenSeadragon computes the same numbering from the top level's size alone.
  for (const l of p.levels) assert.equal(l.width, Math.ceil(8000 / 2 ** (13 - l.level)));
  assert.deepEqual(tileRect(p, 10, 3, 2), { x: 768, y: 512, w: 232, h: 88 });
  assert.equal(tileRect(p, 10, 4, 0), undefined);
  assert.equal(tileRect(p, 14, 0, 0), undefined);
  assert.equal(pyramidOf(1, 1, 2).nativeLevel, 0);
});

test('tile in view: the same answer at any reference level; touching edges are out', () => {
  // A viewport hint of tiles 2..3 x 1..1 at level 10 covers pixels [512, 1024) x [256, 512) of level 10.
  const v = viewportArea({ x0: 2, y0: 1, x1: 3, y1: 1 });
  assert.deepEqual(v, { x0: 512, y0: 256, x1: 1024, y1: 512 });
  assert.equal(tileInView(10, 2, 1, v, 10), true);
  assert.equal(tileInView(10, 1, 1, v, 10), false); // ends at x = 512: touches only
  assert.equal(tileInView(10, 4, 1, v, 10), false);
  assert.equal(tileInView(10, 2, 2, v, 10), false);
  // Finer tiles: level 11 tile 7 spans [896, 1024) of level 10 pixels; tile 8 starts at 1024.
  assert.equal(tileInView(11, 7, 2, v, 10), true);
  assert.equal(tileInView(11, 8, 2, v, 10), false);
  // Coarser: level 9 tile 1 spans [512, 1024) at level 10; tile 0 does not reach it.
  assert.equal(tileInView(9, 1, 0, v, 10), true);
  assert.equal(tileInView(9, 0, 0, v, 10), false);
  // Scaling the view and its reference level together changes nothing (the viewer uses the native level).
  const half = { x0: v.x0 / 2, y0: v.y0 / 2, x1: v.x1 / 2, y1: v.y1 / 2 };
  for (const [l, x, y] of [
    [10, 2, 1],
    [10, 1, 1],
    [11, 7, 2],
    [11, 8, 2],
    [9, 1, 0],
    [9, 0, 0],
    [12, 15, 4],
  ] as const) {
    assert.equal(tileInView(l, x, y, half, 9), tileInView(l, x, y, v, 10), `${l}/${x}/${y}`);
  }
});
