// Region export (export-region) over a real socket on 127.0.0.1: a region of an image the server has open is
// super-resolved on the server, with the whole image's percentiles and real context around it, so it equals
// the same region of `runSr` of the whole file (within 1 grey level); no upload; bad regions get coded errors.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ImageSource, runSr } from '../../models';
import { PhasesrClient, type PhasesrClientError } from '../../server/client/phasesr-client';
import { tempDir } from '../helpers/shared';
import { startServer, testImage, tinyModelDir, type TestServer } from './helpers';

const dir = tempDir('phasesr-region-test-');
const W = 150,
  H = 110;
let srv: TestServer;
let file: string;
let whole: { width: number; pixels: Float32Array };
let imageId: string;

before(async () => {
  // Bright spots on a dark background: the region's own percentiles would differ from the image's.
  file = (await testImage(W, H, 7, 'region-src.tif')).file;
  const out = path.join(dir, 'whole-x4.tif');
  await runSr({ input: file, output: out, scale: 4, model: await tinyModelDir(), log: () => undefined });
  const src = await ImageSource.open(out);
  whole = { width: src.width, pixels: await src.readRegion(0, 0, src.width, src.height) };
  await src.close();
  srv = await startServer({ images: [file] });
  imageId = srv.server.store.list()[0]!.id;
});

after(async () => {
  await srv?.server.close();
});

async function exportAndCompare(r: { x: number; y: number; width: number; height: number }): Promise<void> {
  const client = await PhasesrClient.connect(srv.wsUrl);
  const out = path.join(dir, `region-${r.x}-${r.y}.tif`);
  try {
    const res = await client.exportRegion(imageId, r, { scale: 4, output: out });
    assert.equal(res.result.name, `region-src_x${r.x}_y${r.y}_${r.width}x${r.height}-x4.tif`);
  } finally {
    await client.close();
  }
  const src = await ImageSource.open(out);
  try {
    assert.deepEqual([src.width, src.height, src.dtype], [r.width * 4, r.height * 4, 'uint16']);
    const got = await src.readRegion(0, 0, src.width, src.height);
    let maxDiff = 0;
    for (let y = 0; y < src.height; y++) {
      for (let x = 0; x < src.width; x++) {
        const want = whole.pixels[(r.y * 4 + y) * whole.width + r.x * 4 + x]!;
        maxDiff = Math.max(maxDiff, Math.abs(got[y * src.width + x]! - want));
      }
    }
    assert.ok(maxDiff <= 1, `region ${JSON.stringify(r)} equals the whole image's output there (max |diff| ${maxDiff} grey levels)`);
  } finally {
    await src.close();
  }
}

test('a region inside the image equals the same region of the whole-image result', async () => {
  const uploadsBefore = srv.server.store.list().length;
  await exportAndCompare({ x: 37, y: 21, width: 61, height: 45 });
  assert.equal(srv.server.store.list().length, uploadsBefore, 'nothing was uploaded or opened');
  assert.ok(
    srv.logs.some((l) => /sr job: region 61x45\+37\+21 of region-src\.tif/.test(l)),
    'the server ran it as a region job',
  );
});

test("a region at the image's bottom-right corner (context only on two sides) equals the whole-image result", async () => {
  await exportAndCompare({ x: W - 40, y: H - 30, width: 40, height: 30 });
});

test('a region outside the image or of an unknown image gets a coded error, and the connection stays usable', async () => {
  const client = await PhasesrClient.connect(srv.wsUrl);
  try {
    await assert.rejects(
      client.exportRegion(imageId, { x: W - 10, y: 0, width: 20, height: 10 }, { scale: 2 }),
      (e: PhasesrClientError) => e.code === 'SR_ERR_REGION',
    );
    await assert.rejects(
      client.exportRegion('0123456789abcdef', { x: 0, y: 0, width: 8, height: 8 }, { scale: 2 }),
      (e: PhasesrClientError) => e.code === 'SR_ERR_NOT_FOUND',
    );
    const ok = await client.exportRegion(imageId, { x: 0, y: 0, width: 8, height: 8 }, { scale: 2 });
    assert.equal(ok.result.width, 16);
  } finally {
    await client.close();
  }
});
