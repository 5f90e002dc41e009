// TiffWriter and writeImage: exact round-trips through sharp and the `tiff` decoder, calibration tags,
// BigTIFF, and failure paths that must leave no file behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import sharp from 'sharp';
import { decode } from 'tiff';

import { ImageError } from '../../../models/io/errors';
import { pixelSizeFromPng, pixelSizeFromTiffPage } from '../../../models/io/metadata';
import { readTiffInfo } from '../../../models/io/tiff-tags';
import { TiffWriter } from '../../../models/io/tiff-writer';
import { writeImage } from '../../../models/io/write-image';
import type { DtypeArray, PixelDtype } from '../../../models/io/types';
import { tempDir } from './helpers';

function pattern<D extends PixelDtype>(dtype: D, n: number): DtypeArray[D] {
  const a = dtype === 'uint8' ? new Uint8Array(n) : dtype === 'uint16' ? new Uint16Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = dtype === 'float32' ? Math.sin(i) * 1e4 - 0.125 : (i * 7919) % (dtype === 'uint8' ? 256 : 65536);
  return a as DtypeArray[D];
}

async function readWithSharp(path: string, dtype: PixelDtype, n: number): Promise<ArrayLike<number>> {
  const img = dtype === 'uint16' ? sharp(path).toColourspace('grey16') : sharp(path).extractChannel(0);
  const b = await img.raw({ depth: dtype === 'float32' ? 'float' : dtype === 'uint16' ? 'ushort' : 'uchar' }).toBuffer();
  return dtype === 'float32'
    ? new Float32Array(b.buffer, b.byteOffset, n)
    : dtype === 'uint16'
      ? new Uint16Array(b.buffer, b.byteOffset, n)
      : b;
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof ImageError && e.code === code);
}

for (const dtype of ['uint8', 'uint16', 'float32'] as const) {
  test(`TiffWriter ${dtype}: rows in uneven chunks round-trip exactly via sharp and tiff`, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const W = 37,
        H = 29;
      const A = pattern(dtype, W * H);
      const p = join(dir, `out-${dtype}.tif`);
      const w = await TiffWriter.create(p, { width: W, height: H, dtype, rowsPerStrip: 4 });
      for (const [a, b] of [
        [0, 3],
        [3, 4],
        [4, 20],
        [20, H],
      ] as const)
        await w.writeRows(A.subarray(a * W, b * W) as DtypeArray[typeof dtype]);
      assert.equal(existsSync(p), false, 'only the .partial exists before finish');
      await w.finish();
      assert.deepEqual(readdirSync(dir), [`out-${dtype}.tif`]);
      const t = decode(readFileSync(p))[0]!;
      assert.equal(t.width, W);
      assert.equal(t.height, H);
      assert.deepEqual(Array.from(t.data as ArrayLike<number>), Array.from(A));
      assert.deepEqual(Array.from(await readWithSharp(p, dtype, W * H)), Array.from(A));
    } finally {
      cleanup();
    }
  });
}

test('TiffWriter: forced BigTIFF float32 reads back exactly via sharp (the tiff package cannot read BigTIFF)', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const W = 19,
      H = 11;
    const A = pattern('float32', W * H);
    const p = join(dir, 'big.tif');
    const w = await TiffWriter.create(p, {
      width: W,
      height: H,
      dtype: 'float32',
      bigTiff: true,
      pixelSize: { x: 0.1625, y: 0.1625, unit: 'µm' },
    });
    assert.equal(w.bigTiff, true);
    await w.writeRows(A);
    await w.finish();
    const info = await readTiffInfo(p);
    assert.equal(info.bigTiff, true);
    assert.deepEqual(Array.from(await readWithSharp(p, 'float32', W * H)), Array.from(A));
    const ps = pixelSizeFromTiffPage(info.pages[0]!).pixelSize!;
    assert.ok(Math.abs(ps.x - 0.1625) < 1e-12 && ps.unit === 'µm');
  } finally {
    cleanup();
  }
});

test('TiffWriter: ImageJ description, 1/pixelSize resolutions, float min/max', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const p = join(dir, 'cal.tif');
    const A = new Float32Array([1, -2.5, NaN, 7]);
    const w = await TiffWriter.create(p, {
      width: 2,
      height: 2,
      dtype: 'float32',
      pixelSize: { x: 0.65, y: 0.325, unit: 'µm' },
      description: 'note=x',
    });
    await w.writeRows(A);
    await w.finish();
    const page = (await readTiffInfo(p)).pages[0]!;
    assert.equal(page.description, 'ImageJ=1.53t\nunit=micron\nmin=-2.5\nmax=7\nnote=x');
    assert.equal(page.resolutionUnit, 1);
    const r = pixelSizeFromTiffPage(page);
    assert.equal(r.source, 'imagej');
    assert.ok(Math.abs(r.pixelSize!.x - 0.65) < 1e-12 && Math.abs(r.pixelSize!.y - 0.325) < 1e-12);
    assert.equal(r.pixelSize!.unit, 'µm');
  } finally {
    cleanup();
  }
});

test('TiffWriter: create into a missing directory, or onto a directory, fails with SR_ERR_IO', async () => {
  const { dir, cleanup } = tempDir();
  try {
    await expectCode(TiffWriter.create(join(dir, 'nope', 'x.tif'), { width: 2, height: 2, dtype: 'uint8' }), 'SR_ERR_IO');
    assert.equal(existsSync(join(dir, 'nope')), false);
    await expectCode(TiffWriter.create(dir, { width: 2, height: 2, dtype: 'uint8' }), 'SR_ERR_IO');
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    cleanup();
  }
});

test('TiffWriter: create where nothing may be written fails with SR_ERR_IO and leaves nothing', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    let writable = true;
    try {
      writeFileSync(join(ro, 'probe'), '');
    } catch {
      writable = false;
    }
    // As root a 0555 directory is still writable; /proc refuses new files to everyone, so it stands in.
    const target = writable ? '/proc/phasesr-test.tif' : join(ro, 'x.tif');
    await expectCode(TiffWriter.create(target, { width: 2, height: 2, dtype: 'uint8' }), 'SR_ERR_IO');
    assert.equal(existsSync(target), false);
    assert.equal(existsSync(`${target}.partial`), false);
    if (!writable) assert.deepEqual(readdirSync(ro), []);
  } finally {
    chmodSync(join(dir, 'ro'), 0o755);
    cleanup();
  }
});

test('TiffWriter: abort, too many rows and early finish leave no file', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const p = join(dir, 'a.tif');
    const w = await TiffWriter.create(p, { width: 4, height: 3, dtype: 'uint16' });
    await w.writeRows(new Uint16Array(4));
    await w.abort();
    await w.abort(); // idempotent
    assert.deepEqual(readdirSync(dir), []);
    const w2 = await TiffWriter.create(p, { width: 4, height: 3, dtype: 'uint16' });
    await expectCode(w2.writeRows(new Uint16Array(16)), 'SR_ERR_REGION');
    assert.deepEqual(readdirSync(dir), []);
    await expectCode(w2.writeRows(new Uint16Array(4)), 'SR_ERR_IO'); // unusable after a failure
    const w3 = await TiffWriter.create(p, { width: 4, height: 3, dtype: 'uint16' });
    await w3.writeRows(new Uint16Array(8));
    await expectCode(w3.finish(), 'SR_ERR_REGION');
    assert.deepEqual(readdirSync(dir), []);
    await expectCode(TiffWriter.create(p, { width: 0, height: 3, dtype: 'uint16' }), 'SR_ERR_REGION');
  } finally {
    cleanup();
  }
});

test('writeImage: PNG 8/16-bit exact with pHYs, TIFF, and format errors', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const W = 13,
      H = 7;
    for (const dtype of ['uint8', 'uint16'] as const) {
      const A = pattern(dtype, W * H);
      const p = join(dir, `w-${dtype}.png`);
      await writeImage(p, { width: W, height: H, dtype, data: A }, { pixelSize: { x: 0.5, y: 0.5, unit: 'µm' } });
      assert.deepEqual(Array.from(await readWithSharp(p, dtype, W * H)), Array.from(A));
      const ps = (await pixelSizeFromPng(p)).pixelSize!;
      assert.ok(Math.abs(ps.x - 0.5) < 1e-9, `pHYs gives ${ps.x}`);
    }
    const plain = join(dir, 'plain.png');
    await writeImage(plain, { width: W, height: H, dtype: 'uint8', data: pattern('uint8', W * H) });
    assert.equal((await pixelSizeFromPng(plain)).pixelSize, undefined);
    const F = pattern('float32', W * H);
    await writeImage(join(dir, 'f.tiff'), { width: W, height: H, dtype: 'float32', data: F });
    assert.deepEqual(Array.from(await readWithSharp(join(dir, 'f.tiff'), 'float32', W * H)), Array.from(F));
    await expectCode(writeImage(join(dir, 'f.png'), { width: W, height: H, dtype: 'float32', data: F }), 'SR_ERR_OUTPUT_FORMAT');
    await expectCode(writeImage(join(dir, 'f.bmp'), { width: W, height: H, dtype: 'float32', data: F }), 'SR_ERR_OUTPUT_FORMAT');
    await expectCode(
      writeImage(join(dir, 'nodir', 'f.png'), { width: W, height: H, dtype: 'uint8', data: pattern('uint8', W * H) }),
      'SR_ERR_IO',
    );
    assert.deepEqual(readdirSync(dir).sort(), ['f.tiff', 'plain.png', 'w-uint16.png', 'w-uint8.png']);
  } finally {
    cleanup();
  }
});
