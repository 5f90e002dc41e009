// The input before the model: runSr (behind `phasesr sr` and the server's jobs) opens and checks its input
// before it reads a model, so a missing or undecodable input fails at once with its own code, and a server job
// runs on the model the server loaded at start; `phasesr eval` lists its --data before it reads its models.
// Model loads are counted as reads of model.json (fs.readFile, spied on and called through).
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, mock, test } from 'node:test';

import { loadModel, runSr } from '../../models';
import { runEval } from '../../models/eval/run-eval';
import { tempDir } from '../helpers/shared';
import { startServer, testImage, tinyModelDir, type TestServer } from '../server/helpers';

const dir = tempDir('phasesr-run-sr-order-');
let model: string;
let input: string;
let modelReads = 0;

before(async () => {
  model = await tinyModelDir();
  input = (await testImage(24, 20, 3, 'good.tif')).file;
  const readFile = fs.readFile;
  mock.method(fs, 'readFile', (...args: Parameters<typeof fs.readFile>) => {
    if (String(args[0]).endsWith('model.json')) modelReads++;
    return readFile(...args);
  });
});

after(() => mock.restoreAll());

async function codeOf(run: Promise<unknown>): Promise<string> {
  try {
    await run;
  } catch (e) {
    return (e as { code?: string }).code ?? `no code: ${(e as Error).message}`;
  }
  return 'resolved';
}

test('a missing or undecodable input fails with its own code and no model is read', async () => {
  const garbage = path.join(dir, 'not-an-image.tif');
  await fs.writeFile(garbage, 'this is text, not a TIFF\n');
  const logs: string[] = [];
  const before = modelReads;
  const o = { output: path.join(dir, 'out.tif'), scale: 2 as const, model, log: (l: string) => logs.push(l) };
  assert.equal(await codeOf(runSr({ ...o, input: path.join(dir, 'missing.tif') })), 'SR_ERR_IO');
  assert.equal(await codeOf(runSr({ ...o, input: garbage })), 'SR_ERR_IMAGE_DECODE');
  assert.equal(modelReads - before, 0, 'model.json reads');
  assert.deepEqual(
    logs.filter((l) => l.startsWith('model:')),
    [],
  );
  // The input's error wins even over a model that does not exist.
  assert.equal(await codeOf(runSr({ ...o, model: path.join(dir, 'no-such-model'), input: path.join(dir, 'missing.tif') })), 'SR_ERR_IO');
  await assert.rejects(fs.stat(o.output), 'no output for a failed run');
});

test('a good input reads the model once; a model passed already loaded is not read again', async () => {
  const before = modelReads;
  const r = await runSr({ input, output: path.join(dir, 'good-x2.tif'), scale: 2, model, threads: 1, log: () => undefined });
  assert.deepEqual([r.width, r.height], [48, 40]);
  assert.equal(modelReads - before, 1, 'model.json reads for one run by name');

  const loaded = await loadModel(model);
  const mid = modelReads;
  await runSr({ input, output: path.join(dir, 'good-x2-loaded.tif'), scale: 2, model: loaded, threads: 1, log: () => undefined });
  assert.equal(modelReads - mid, 0, 'model.json reads for a run given the loaded model');
});

test("the server's sr jobs run on the model it loaded at start: no model read per job", async () => {
  let srv: TestServer | undefined;
  try {
    srv = await startServer();
    const before = modelReads;
    for (const scale of [2, 4]) {
      const res = await fetch(`${srv.url}/api/v1/sr?path=${encodeURIComponent(input)}&scale=${scale}`);
      assert.equal(res.status, 200, await res.clone().text());
    }
    assert.equal(srv.server.stats.srJobs, 2);
    assert.equal(modelReads - before, 0, 'model.json reads for two jobs');
  } finally {
    await srv?.server.close();
  }
});

test('eval: a missing --data folder fails with its own code and no model is read', async () => {
  const before = modelReads;
  const data = path.join(dir, 'no-such-data');
  assert.equal(await codeOf(runEval({ data, scale: 8, models: [model], log: () => undefined })), 'SR_ERR_EVAL_DATA');
  assert.equal(
    await codeOf(runEval({ data, scale: 8, models: [path.join(dir, 'no-such-model')], log: () => undefined })),
    'SR_ERR_EVAL_DATA',
  );
  assert.equal(modelReads - before, 0, 'model.json reads');
});
