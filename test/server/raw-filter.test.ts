// The compressed raw tile encodings (u16z, f32z): the filters round-trip exactly, and a u16z / f32z tile
// inflated and unfiltered (as the viewer does) equals the u16 / f32 tile byte for byte.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import zlib from 'node:zlib';

import { filterF32, filterU16, unfilterF32, unfilterU16 } from '../../server/protocol';
import { encodeTile } from '../../server/tiles/encode';

test('filterU16 / filterF32 round-trip exactly (row starts, wrap-around differences, NaN and infinities)', () => {
  const u = Uint16Array.from({ length: 7 * 5 }, (_, i) => (i * 40503) & 0xffff);
  u[3] = 0;
  u[4] = 65535;
  u[7] = 65535;
  u[8] = 0;
  assert.deepEqual(unfilterU16(filterU16(u, 7), 7), u);
  const f = Float32Array.from({ length: 33 }, (_, i) => Math.sin(i) * 1e3);
  f[2] = NaN;
  f[5] = Infinity;
  f[6] = -0;
  assert.deepEqual(new Uint8Array(unfilterF32(filterF32(f)).buffer), new Uint8Array(f.buffer));
});

test('a u16z / f32z tile decodes to the u16 / f32 tile, and smooth data compresses', async () => {
  const width = 256,
    height = 256;
  const data = Float32Array.from(
    { length: width * height },
    (_, i) => 0.5 + 0.4 * Math.sin((i % width) / 19) * Math.cos(Math.floor(i / width) / 23),
  );
  const t = { width, height, data };
  const u16 = await encodeTile(t, 'u16', 1000, 30000);
  const u16z = await encodeTile(t, 'u16z', 1000, 30000);
  assert.deepEqual(unfilterU16(zlib.inflateSync(u16z.payload), width), new Uint16Array(u16.payload.slice().buffer));
  assert.ok(
    u16z.payload.byteLength < 0.6 * u16.payload.byteLength,
    `smooth 16-bit tile: ${u16z.payload.byteLength} of ${u16.payload.byteLength} bytes`,
  );
  const f32 = await encodeTile(t, 'f32', 1000, 30000);
  const f32z = await encodeTile(t, 'f32z', 1000, 30000);
  assert.deepEqual(new Uint8Array(unfilterF32(zlib.inflateSync(f32z.payload)).buffer), f32.payload);
});
