// ImageSource: region reads equal crops of the whole decode (in memory, VIPS copy, tiled TIFF), bad inputs
// with stable codes, multi-page and colour handling, and the real val-tiff image when present.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import sharp from 'sharp';

import { ImageError } from '../../../models/io/errors';
import { ImageSource, type ImageSourceOptions } from '../../../models/io/image-source';
import { writeImage } from '../../../models/io/write-image';
import { buildTiff, bytesOf, tempDir } from './helpers';
import { DATA } from '../../helpers/shared';

const W = 97,
  H = 61;
const IMG = new Uint16Array(W * H).map((_, i) => (i * 2654435761) % 65536);

function crop(a: ArrayLike<number>, width: number, x: number, y: number, w: number, h: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) out.push(a[(y + r) * width + x + c]!);
  return out;
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof ImageError && e.code === code);
}

const WINDOWS = [
  [0, 0, W, H],
  [0, 0, 1, 1],
  [W - 1, H - 1, 1, 1],
  [13, 7, 40, 29],
  [50, 30, 47, 31],
] as const;

async function checkRegions(path: string, opts: ImageSourceOptions, expected: ArrayLike<number>, width = W): Promise<ImageSource> {
  const src = await ImageSource.open(path, opts);
  for (const [x, y, w, h] of WINDOWS)
    assert.deepEqual(Array.from(await src.readRegion(x, y, w, h)), crop(expected, width, x, y, w, h), `${path} ${[x, y, w, h]}`);
  return src;
}

test('readRegion equals crops of the whole image: PNG and TIFF, in memory and via the VIPS copy', async () => {
  const { dir, cleanup } = tempDir();
  try {
    for (const name of ['a.png', 'a.tif']) {
      const p = join(dir, name);
      await writeImage(p, { width: W, height: H, dtype: 'uint16', data: IMG });
      for (const opts of [{}, { inMemoryPixels: 0, tempDir: dir }]) {
        const src = await checkRegions(p, opts, IMG);
        assert.equal(src.width, W);
        assert.equal(src.height, H);
        assert.equal(src.dtype, 'uint16');
        assert.equal(src.format, name.endsWith('png') ? 'png' : 'tiff');
        assert.deepEqual(src.warnings, []);
        await src.close();
        await expectCode(src.readRegion(0, 0, 1, 1), 'SR_ERR_IO');
      }
    }
    const tiled = join(dir, 'tiled.tif');
    await sharp(IMG, { raw: { width: W, height: H, channels: 1 } })
      .toColourspace('grey16')
      .tiff({ compression: 'deflate', tile: true, tileWidth: 16, tileHeight: 16 })
      .toFile(tiled);
    await (await checkRegions(tiled, { inMemoryPixels: 0 }, IMG)).close();
    const F = new Float32Array(W * H).map((_, i) => Math.cos(i) * 3e4);
    await writeImage(join(dir, 'f.tif'), { width: W, height: H, dtype: 'float32', data: F });
    for (const opts of [{}, { inMemoryPixels: 0 }]) {
      const src = await checkRegions(join(dir, 'f.tif'), opts, F);
      assert.equal(src.dtype, 'float32');
      await src.close();
    }
    const u8 = new Uint8Array(W * H).map((_, i) => i * 31);
    await writeImage(join(dir, 'b.png'), { width: W, height: H, dtype: 'uint8', data: u8 });
    await (await checkRegions(join(dir, 'b.png'), { inMemoryPixels: 0 }, u8)).close();
    const src = await ImageSource.open(join(dir, 'a.png'));
    for (const [x, y, w, h] of [
      [-1, 0, 2, 2],
      [0, 0, W + 1, 1],
      [0, H, 1, 1],
      [0, 0, 0, 1],
      [0.5, 0, 1, 1],
    ]) {
      await expectCode(src.readRegion(x!, y!, w!, h!), 'SR_ERR_REGION');
    }
  } finally {
    cleanup();
  }
});

test('bad inputs fail at open with stable codes', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const f = (name: string, data: Buffer | string): string => {
      const p = join(dir, name);
      writeFileSync(p, data);
      return p;
    };
    await expectCode(ImageSource.open(join(dir, 'missing.tif')), 'SR_ERR_IO');
    await expectCode(ImageSource.open(dir), 'SR_ERR_IO');
    await expectCode(ImageSource.open(f('empty.tif', '')), 'SR_ERR_IMAGE_DECODE');
    await expectCode(ImageSource.open(f('text.tif', 'hello, I am not an image\n')), 'SR_ERR_IMAGE_DECODE');
    const header = Buffer.from([0x49, 0x49, 42, 0, 8, 0, 0, 0]);
    await expectCode(ImageSource.open(f('corrupt.tif', Buffer.concat([header, Buffer.alloc(200, 0xa7)]))), 'SR_ERR_IMAGE_DECODE');
    const png = await sharp(IMG, { raw: { width: W, height: H, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toBuffer();
    await expectCode(ImageSource.open(f('trunc.png', png.subarray(0, png.length >> 1))), 'SR_ERR_IMAGE_DECODE');
    await expectCode(
      ImageSource.open(f('trunc2.png', png.subarray(0, png.length >> 1)), { inMemoryPixels: 0, tempDir: dir }),
      'SR_ERR_IMAGE_DECODE',
    );
    await expectCode(
      ImageSource.open(
        f(
          'gif.gif',
          await sharp({ create: { width: 4, height: 4, channels: 3, background: '#fff' } })
            .gif()
            .toBuffer(),
        ),
      ),
      'SR_ERR_IMAGE_TYPE',
    );
    const page = (bits: number, fmt: number, data: ArrayBufferView, width = 5) =>
      buildTiff([{ width, height: 4, data: bytesOf(data), bitsPerSample: bits, sampleFormat: fmt }]);
    await expectCode(ImageSource.open(f('i16.tif', page(16, 2, new Int16Array(20)))), 'SR_ERR_IMAGE_TYPE');
    await expectCode(ImageSource.open(f('i32.tif', page(32, 2, new Int32Array(20)))), 'SR_ERR_IMAGE_TYPE');
    await expectCode(ImageSource.open(f('u32.tif', page(32, 1, new Uint32Array(20)))), 'SR_ERR_IMAGE_TYPE');
    await expectCode(ImageSource.open(f('f64.tif', page(64, 3, new Float64Array(20)))), 'SR_ERR_IMAGE_TYPE');
    await expectCode(ImageSource.open(f('b1.tif', page(1, 1, new Uint8Array(4), 8))), 'SR_ERR_IMAGE_TYPE');
    await expectCode(ImageSource.open(f('zero.tif', page(16, 1, new Uint16Array(0), 0))), 'SR_ERR_IMAGE_EMPTY');
    assert.deepEqual(await Promise.all(['missing.tif'].map((n) => existsSync(join(dir, n)))), [false]);
  } finally {
    cleanup();
  }
});

test('multi-page TIFF: a stack is SR_ERR_IMAGE_MULTIPAGE, a pyramid opens page 0 with a warning', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const stack = join(dir, 'stack.tif');
    writeFileSync(stack, buildTiff([1, 2, 3].map((v) => ({ width: 5, height: 4, data: bytesOf(new Uint16Array(20).fill(v)) }))));
    await assert.rejects(
      ImageSource.open(stack),
      (e: unknown) => e instanceof ImageError && e.code === 'SR_ERR_IMAGE_MULTIPAGE' && /3 pages/.test(e.message),
    );
    const pyr = join(dir, 'pyr.tif');
    writeFileSync(
      pyr,
      buildTiff(
        [
          [8, 6, 1],
          [4, 3, 2],
          [2, 1, 3],
        ].map(([w, h, v]) => ({ width: w!, height: h!, data: bytesOf(new Uint16Array(w! * h!).fill(v!)) })),
      ),
    );
    const src = await ImageSource.open(pyr);
    assert.equal(src.width, 8);
    assert.equal(src.warnings.length, 1);
    assert.match(src.warnings[0]!, /pyramid/);
    assert.deepEqual(Array.from(await src.readRegion(0, 0, 8, 6)), new Array(48).fill(1));
    await src.close();
  } finally {
    cleanup();
  }
});

test('colour images become one grey channel with a warning', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const n = 6 * 4;
    const rgb = new Uint8Array(n * 3).map((_, i) => (i * 37) % 256);
    const p = join(dir, 'rgb.png');
    await sharp(rgb, { raw: { width: 6, height: 4, channels: 3 } })
      .png()
      .toFile(p);
    for (const opts of [{}, { inMemoryPixels: 0 }]) {
      const src = await ImageSource.open(p, opts);
      assert.equal(src.dtype, 'uint8');
      assert.equal(src.warnings.length, 1);
      assert.match(src.warnings[0]!, /grey/);
      const g = await src.readRegion(0, 0, 6, 4);
      for (let i = 0; i < n; i++)
        assert.ok(Math.abs(g[i]! - (0.299 * rgb[3 * i]! + 0.587 * rgb[3 * i + 1]! + 0.114 * rgb[3 * i + 2]!)) < 1e-3);
      await src.close();
    }
    const same = new Uint16Array(n * 3).map((_, i) => Math.floor(i / 3) * 2000);
    const q = join(dir, 'same.tif');
    writeFileSync(q, buildTiff([{ width: 6, height: 4, data: bytesOf(same), samplesPerPixel: 3, bitsPerSample: 16 }]));
    const src = await ImageSource.open(q);
    assert.equal(src.dtype, 'uint16');
    assert.match(src.warnings[0]!, /equal channels.*no loss/);
    assert.deepEqual(
      Array.from(await src.readRegion(0, 0, 6, 4)),
      Array.from({ length: n }, (_, i) => i * 2000),
    );
    await src.close();
    const rgba = join(dir, 'rgba.png');
    await sharp(new Uint8Array(n * 4).fill(9), { raw: { width: 6, height: 4, channels: 4 } })
      .png()
      .toFile(rgba);
    const s2 = await ImageSource.open(rgba);
    assert.deepEqual(s2.warnings.length, 2);
    assert.deepEqual(Array.from(await s2.readRegion(0, 0, 2, 1)), [9, 9]);
    await s2.close();
    const jpg = join(dir, 'grey.jpg');
    await sharp(new Uint8Array(n).fill(128), { raw: { width: 6, height: 4, channels: 1 } })
      .toColourspace('b-w')
      .jpeg({ quality: 100 })
      .toFile(jpg);
    const s3 = await ImageSource.open(jpg);
    assert.deepEqual([s3.format, s3.dtype, s3.warnings], ['jpeg', 'uint8', []]);
    assert.ok(Math.abs((await s3.readRegion(2, 2, 1, 1))[0]! - 128) <= 1);
    await s3.close();
  } finally {
    cleanup();
  }
});

test('real data: usiigaci-set46.tif opens as 1024x1022 uint16 and regions match the whole decode', async (t) => {
  const p = join(DATA, 'val-tiff', 'usiigaci-set46.tif');
  if (!existsSync(p)) {
    t.skip(`${p} absent`);
    return;
  }
  const whole = await sharp(readFileSync(p)).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer();
  const all = new Uint16Array(whole.buffer, whole.byteOffset, 1024 * 1022);
  for (const opts of [{}, { inMemoryPixels: 0 }]) {
    const src = await ImageSource.open(p, opts);
    assert.deepEqual([src.width, src.height, src.dtype, src.format], [1024, 1022, 'uint16', 'tiff']);
    for (const [x, y, w, h] of [
      [0, 0, 64, 64],
      [517, 333, 200, 150],
      [1024 - 80, 1022 - 70, 80, 70],
    ] as const) {
      assert.deepEqual(Array.from(await src.readRegion(x, y, w, h)), crop(all, 1024, x, y, w, h));
    }
    await src.close();
  }
});
