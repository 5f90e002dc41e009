// The training pairs: crops, symmetries and box-mean LR line up with the image, so a model that is
// exactly bilinear (the untrained lite) reproduces an HR that is exactly a bilinear upsample of its LR.
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { PRESETS } from '../../../models/config';
import { discriminatorParams, generatorParams, initWeights, Mulberry32 } from '../../../models/params';
import { boxLr } from '../../helpers/image';
import { cropAt, loadTrainImage, randomCrops, type TrainImage } from '../../../models/train/data';
import { GradientComputer } from '../../../models/train/gradients';
import { initTfjs } from '../../../models/tfjs/runtime';
import { tempDir } from '../../helpers/shared';

const S = 8;
// LR: a plane a*x + b*y + c (bilinear interpolation reproduces planes exactly).
const lrAt = (x: number, y: number) => 0.013 * x - 0.021 * y + 0.4;
// HR = half-pixel-centred bilinear upsample of the LR: HR pixel X sits at LR coordinate (X + 0.5)/S - 0.5.
const hrAt = (X: number, Y: number) => lrAt((X + 0.5) / S - 0.5, (Y + 0.5) / S - 0.5);

function planeImage(w: number, h: number): TrainImage {
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = hrAt(x, y);
  return { name: 'plane', width: w, height: h, data, low: 0, high: 1 };
}

/** Box mean over S x S blocks. */
function boxMean(a: Float32Array, size: number): Float32Array {
  const n = size / S;
  const out = new Float32Array(n * n);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) out[Math.floor(y / S) * n + Math.floor(x / S)]! += a[y * size + x]! / (S * S);
  return out;
}

before(async () => {
  await initTfjs('wasm');
});

test('crop + box mean of an HR that is a bilinear upsample gives back the LR, under all 8 symmetries', () => {
  const img = planeImage(200, 160);
  const size = 64,
    n = size / S,
    ox = 40,
    oy = 24; // offsets on the LR grid: LR origin (5, 3)
  for (let v = 0; v < 8; v++) {
    const lr = boxMean(cropAt(img, ox, oy, size, v), size);
    for (let r = 0; r < n; r++)
      for (let c = 0; c < n; c++) {
        // The same symmetry applied to LR coordinates (see cropAt): transpose, then flips.
        let sr = v & 4 ? c : r,
          sc = v & 4 ? r : c;
        if (v & 1) sc = n - 1 - sc;
        if (v & 2) sr = n - 1 - sr;
        const want = lrAt(ox / S + sc, oy / S + sr);
        assert.ok(Math.abs(lr[r * n + c]! - want) < 1e-5, `variant ${v} LR(${c},${r}) = ${lr[r * n + c]}, want ${want}`);
      }
  }
});

test('the untrained lite model (exactly bilinear) reproduces such an HR crop away from the border: zero content error', async () => {
  const cfg = PRESETS.lite(8);
  const gc = await GradientComputer.create(cfg, 'wasm');
  const w = initWeights([...generatorParams(cfg), ...discriminatorParams(cfg)], 1);
  gc.setParams(Object.fromEntries([...w].map(([k, t]) => [k, t.data])));
  const size = 128;
  const hr = cropAt(planeImage(256, 256), 64, 64, size, 3);
  const out = gc.generate(boxLr(hr, size), 1, size);
  assert.equal(out.length, 3);
  const fin = out[2]!;
  // Inside a margin of one LR pixel the bilinear upsample is exact; at the border it clamps.
  let worst = 0;
  for (let y = S; y < size - S; y++)
    for (let x = S; x < size - S; x++) worst = Math.max(worst, Math.abs(fin[y * size + x]! - hr[y * size + x]!));
  assert.ok(worst < 1e-5, `max |SR - HR| inside = ${worst}`);
  let border = 0;
  for (let x = 0; x < size; x++) border = Math.max(border, Math.abs(fin[x]! - hr[x]!));
  assert.ok(border > 1e-3, 'the border clamps, so it must differ: the check above is not vacuous');
  // And the training loss on that crop: the content term measures only the border residue.
  const r = gc.generator(hr, boxLr(hr, size), 1, size, { content: true, adversarial: false, alpha: 1 });
  assert.ok(r.losses.g_content! < 0.01, `content loss ${r.losses.g_content}`);
  gc.dispose();
});

test('random crops are reproducible from the RNG state and stay inside the images', () => {
  const imgs = [planeImage(100, 90), planeImage(300, 64)];
  const a = new Mulberry32(7),
    b = new Mulberry32(7);
  const c1 = randomCrops(imgs, a, 64, 3);
  const c2 = randomCrops(imgs, b, 64, 3);
  assert.deepEqual(c1, c2);
  assert.equal(a.state, b.state);
  assert.notDeepEqual(randomCrops(imgs, a, 64, 3), c1);
  assert.throws(() => cropAt(imgs[0]!, 50, 0, 64, 0), /outside/);
});

test('a 16-bit training image is normalised by the percentiles of its box-mean LR', async () => {
  const dir = tempDir();
  const w = 64,
    h = 48;
  const px = new Uint16Array(w * h).map((_, i) => 1000 + (i % w) * 100);
  const file = path.join(dir, 'ramp.png');
  await sharp(px, { raw: { width: w, height: h, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toFile(file);
  const img = await loadTrainImage(file, S);
  // LR columns are box means of 8 columns: 1000 + 100 * (8k + 3.5) = 1350 + 800k, k = 0..7, so the
  // 0.1/99.9 percentiles of the 8x6 LR are exactly 1350 and 6950 (the HR's would be ~1005 and ~7295).
  assert.equal(img.low, 1350);
  assert.equal(img.high, 6950);
  assert.ok(Math.abs(img.data[0]! - (1000 - img.low) / (img.high - img.low)) < 1e-6);
});
