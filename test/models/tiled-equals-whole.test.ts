// Tiled inference with the halo gives the whole-image output (max abs diff <= 1e-5 before encoding), on an
// image of 3 x 3 tiles, for every output level; without a halo it does not (so the check can fail).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, PRESETS } from '../../models/config';
import { OrtBackend } from '../../models/engine/ort-backend';
import { generatorParams, randomWeights } from '../../models/params';
import { superResolve, type OutputBand } from '../../models/pipeline/super-resolve';
import { memoryReader, synthImage } from '../helpers/image';

const W = 70,
  H = 66,
  TILE = 24; // 3 x 3 tiles, the last row and column partial
const src = memoryReader(synthImage(W, H), W, H);
// lite, the default preset whose LR body widens the receptive field (halo 16 instead of 8), and that body with
// channel MLPs (1x1 only: the same halo must still be enough).
for (const cfg of [
  parseConfig({ ...PRESETS.lite(8), skip: 'bilinear' }),
  PRESETS.body(8),
  parseConfig({ ...PRESETS.body(8), name: 'body-mlp', body: { blocks: 4, mixer: true, mlp: 64 } }),
]) {
  const backend = await OrtBackend.create(cfg, randomWeights(generatorParams(cfg), 11), { engine: 'ort-cpu' });
  after(() => backend.dispose());

  async function render(level: number, tile: number, halo?: number): Promise<Float32Array> {
    const s = 2 ** level;
    const out = new Float32Array(W * s * H * s);
    let tiles = 0;
    await superResolve(
      src,
      backend,
      { tile, level, low: 200, high: 800, batch: 4, ...(halo === undefined ? {} : { halo }), onProgress: (d) => (tiles = d) },
      async (b: OutputBand) => out.set(b.data, b.y * b.width),
    );
    if (tile < W) assert.equal(tiles, 9);
    return out;
  }

  const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

  for (const level of [1, 2, 3]) {
    test(`${cfg.name}, level ${level} (${2 ** level}x): 3x3 tiles equal the whole image`, async () => {
      const whole = await render(level, 1000);
      const tiled = await render(level, TILE);
      const d = maxDiff(whole, tiled);
      assert.ok(d <= 1e-5, `max abs diff ${d}`);
      // The output is not trivial: it varies across the image.
      let lo = Infinity,
        hi = -Infinity;
      for (const v of whole) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      assert.ok(hi - lo > 0.1, `output range ${lo}..${hi}`);
    });
  }

  test(`${cfg.name}: without the halo, tile seams differ from the whole image`, async () => {
    const d = maxDiff(await render(3, 1000), await render(3, TILE, 0));
    assert.ok(d > 1e-3, `max abs diff without halo only ${d}`);
  });
}
