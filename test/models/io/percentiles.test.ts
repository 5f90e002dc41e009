// Percentiles against a brute-force sort (numpy 'linear' definition), band sampling, and the
// normalise/denormalise pair.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';

import { ImageSource } from '../../../models/io/image-source';
import { denormalise, normalise } from '../../../models/io/normalisation';
import { imagePercentiles } from '../../../models/io/percentiles';
import { writeImage } from '../../../models/io/write-image';
import type { PixelArray, PixelDtype } from '../../../models/io/types';
import { tempDir } from './helpers';

/** numpy.percentile(values, p) with the default linear interpolation. */
function brute(values: ArrayLike<number>, p: number): number {
  const s = Array.from(values)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const pos = (p / 100) * (s.length - 1);
  const lo = Math.floor(pos);
  return lo + 1 < s.length ? s[lo]! + (s[lo + 1]! - s[lo]!) * (pos - lo) : s[lo]!;
}

const W = 71,
  H = 53;

async function withImage(dtype: PixelDtype, data: PixelArray, run: (src: ImageSource) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir();
  try {
    const p = join(dir, `p-${dtype}.tif`);
    await writeImage(p, { width: W, height: H, dtype, data });
    const src = await ImageSource.open(p);
    try {
      await run(src);
    } finally {
      await src.close();
    }
  } finally {
    cleanup();
  }
}

test('imagePercentiles equals a brute-force sort for uint8, uint16 and float32', async () => {
  let seed = 12345;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const cases: [PixelDtype, PixelArray][] = [
    ['uint8', new Uint8Array(W * H).map(() => Math.floor(rnd() * 256))],
    ['uint16', new Uint16Array(W * H).map(() => Math.floor(rnd() ** 3 * 65536))],
    ['float32', new Float32Array(W * H).map((_, i) => (i === 5 ? NaN : (rnd() - 0.3) * 1e3))],
  ];
  for (const [dtype, data] of cases) {
    await withImage(dtype, data, async (src) => {
      for (const pct of [
        [0.1, 99.9],
        [0, 100],
        [2, 98],
        [50, 50],
      ] as [number, number][]) {
        const r = await imagePercentiles(src, pct, { bandPixels: W * 7 }); // several bands, a short last one
        assert.equal(r.sampled, false);
        assert.ok(
          Math.abs(r.low - brute(data, pct[0])) < 1e-6 * Math.max(1, Math.abs(r.low)),
          `${dtype} ${pct} low ${r.low} vs ${brute(data, pct[0])}`,
        );
        assert.ok(Math.abs(r.high - brute(data, pct[1])) < 1e-6 * Math.max(1, Math.abs(r.high)), `${dtype} ${pct} high`);
      }
      const def = await imagePercentiles(src);
      assert.ok(Math.abs(def.low - brute(data, 0.1)) < 1e-3 && Math.abs(def.high - brute(data, 99.9)) < 1e-3);
    });
  }
});

test('imagePercentiles: band and pixel sampling above the limits say sampled', async () => {
  const data = new Uint16Array(W * H).map((_, i) => (i * 7919) % 1000); // no vertical trend: bands are representative
  await withImage('uint16', data, async (src) => {
    const r = await imagePercentiles(src, [1, 99], { bandPixels: W * 4, maxPixels: 1000 });
    assert.equal(r.sampled, true);
    assert.ok(
      Math.abs(r.low - brute(data, 1)) < 30 && Math.abs(r.high - brute(data, 99)) < 30,
      `${r.low} ${r.high} vs ${brute(data, 1)} ${brute(data, 99)}`,
    );
  });
  const f = new Float32Array(W * H).map((_, i) => i);
  await withImage('float32', f, async (src) => {
    const r = await imagePercentiles(src, [10, 90], { maxFloatSamples: 500 });
    assert.equal(r.sampled, true);
    assert.ok(Math.abs(r.low - brute(f, 10)) / (W * H) < 0.02);
  });
  await withImage('uint16', new Uint16Array(W * H).fill(7), async (src) => {
    assert.deepEqual(await imagePercentiles(src), { low: 7, high: 7, sampled: false, unsaturated: { low: 7, high: 7 } });
  });
});

test('normalise / denormalise', () => {
  assert.deepEqual(Array.from(normalise([100, 200, 300, 50], 100, 300)), [0, 0.5, 1, -0.25]);
  assert.deepEqual(Array.from(normalise([5, 6], 5, 5)), [0, 1]); // flat range -> scale 1
  assert.deepEqual(Array.from(denormalise([0, 0.5, 1, -0.25, 2, NaN], 100, 300, 'uint16')), [100, 200, 300, 50, 500, 0]);
  assert.deepEqual(Array.from(denormalise([-1, 0.499, 1.2, 400], 0, 255, 'uint8')), [0, 127, 255, 255]);
  assert.deepEqual(Array.from(denormalise([-1, 0, 2], 0, 65535, 'uint16')), [0, 0, 65535]);
  assert.deepEqual(Array.from(denormalise([-1, 0.25], 10, 14, 'float32')), [6, 11]);
  const x = new Float32Array([12345, 0, 65535]);
  assert.deepEqual(Array.from(denormalise(normalise(x, 300, 40000), 300, 40000, 'uint16')), [12345, 0, 65535]);
});

test('imagePercentiles: unsaturated percentiles leave out the dtype maximum (display limits of saturated images)', async () => {
  const w = 100,
    h = 100;
  const px = Float32Array.from({ length: w * h }, (_, i) => (i < 500 ? 65535 : 1000 + (i % 1000))); // 5 % saturated
  const src = {
    width: w,
    height: h,
    dtype: 'uint16' as const,
    readRegion: async (_x: number, y: number, _rw: number, rh: number) => px.slice(y * w, (y + rh) * w),
  };
  const p = await imagePercentiles(src);
  assert.equal(p.high, 65535);
  assert.ok(p.unsaturated.high >= 1990 && p.unsaturated.high <= 1999, `unsaturated 99.9th percentile ${p.unsaturated.high}`);
  assert.ok(p.unsaturated.low >= 1000 && p.unsaturated.low <= 1001);
});
