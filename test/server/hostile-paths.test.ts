// Hostile server-side paths, over real sockets: a FIFO (or any non-regular file) in an allowed folder is
// refused at once instead of blocking the I/O thread pool; the OS temp folder is not allowed by default, only
// the server's private exchange folder (0700) is, which the Fiji bridge learns from GET /api/v1/folders; and in
// a world-writable folder the operator allows, another user's file is refused.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, constants, copyFileSync, existsSync, openSync, realpathSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { tempDir } from '../helpers/shared';
import { startServer, testImage, TestClient, type TestServer } from './helpers';

let srv: TestServer;
let dir: string;
let fifo: string;
before(async () => {
  dir = tempDir('phasesr-hostile-paths-');
  fifo = path.join(dir, 'pipe.tif');
  execFileSync('mkfifo', [fifo]);
  srv = await startServer();
});
after(async () => {
  // Were a reader blocked on the FIFO, a writer that opens and closes it lets it go (so close() can end).
  try {
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    /* no reader waiting */
  }
  await srv.server.close();
});

test('a FIFO is refused without blocking, and ordinary work goes on', async () => {
  const c = await TestClient.connect(srv.wsUrl);
  for (let id = 1; id <= 6; id++) c.send({ type: 'open-image', id, path: fifo });
  for (let id = 1; id <= 6; id++) assert.equal((await c.errorFor(id)).code, 'SR_ERR_PATH_FORBIDDEN');
  const rest = await fetch(`${srv.url}/api/v1/images/open`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ path: fifo }),
  });
  assert.equal(((await rest.json()) as { error: { code: string } }).error.code, 'SR_ERR_PATH_FORBIDDEN');
  // The thread pool is free: a real file opens, by path and by upload.
  const { file } = await testImage(64, 48, 21);
  const mine = path.join(dir, 'mine.tif');
  copyFileSync(file, mine);
  c.send({ type: 'open-image', id: 10, path: mine });
  await c.waitFor((m) => m.type === 'image-opened' && m.id === 10);
  const up = await fetch(`${srv.url}/api/v1/images?name=u.tif`, {
    method: 'POST',
    body: await (await import('node:fs/promises')).readFile(file),
  });
  assert.equal(up.status, 201);
  c.close();
});

test('the OS temp folder is refused outside the exchange folder; a file in the exchange folder opens on every path', async () => {
  const { file } = await testImage(64, 48, 23);
  const inTemp = path.join(os.tmpdir(), `phasesr-in-temp-${process.pid}.tif`);
  copyFileSync(file, inTemp);
  const s = await startServer();
  let exchange = '';
  try {
    const folders = (await (await fetch(`${s.url}/api/v1/folders`)).json()) as { exchange: string; folders: string[] };
    exchange = folders.exchange;
    assert.equal(folders.folders[0], exchange, 'the exchange folder is listed first');
    assert.ok(!folders.folders.includes(realpathSync(os.tmpdir())), `the OS temp folder is not allowed: ${folders.folders.join(', ')}`);
    // The Fiji macro reads the first line of the text form.
    assert.equal((await (await fetch(`${s.url}/api/v1/folders?format=text`)).text()).split('\n')[0], exchange);
    const st = statSync(exchange);
    assert.equal(st.mode & 0o777, 0o700, 'only the server user may put files there');
    assert.equal(path.dirname(exchange), realpathSync(os.tmpdir()));
    const inside = path.join(exchange, 'cells.tif');
    copyFileSync(file, inside);

    const c = await TestClient.connect(s.wsUrl);
    c.send({ type: 'open-image', id: 1, path: inTemp });
    assert.equal((await c.errorFor(1)).code, 'SR_ERR_PATH_FORBIDDEN');
    c.send({ type: 'open-image', id: 2, path: inside });
    await c.waitFor((m) => m.type === 'image-opened' && m.id === 2);
    c.close();
    const restOpen = (p: string) =>
      fetch(`${s.url}/api/v1/images/open`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ path: p }),
      });
    const refused = await restOpen(inTemp);
    assert.equal(refused.status, 403);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'SR_ERR_PATH_FORBIDDEN');
    assert.equal((await restOpen(inside)).status, 200);
    // The Fiji bridge's request: an error line for the temp folder, a result URL for the exchange folder.
    const sr = (p: string) => fetch(`${s.url}/api/v1/sr?format=text&scale=2&path=${encodeURIComponent(p)}`).then((r) => r.text());
    assert.match(await sr(inTemp), /^error: SR_ERR_PATH_FORBIDDEN: /);
    assert.match(await sr(inside), /^http:\/\/127\.0\.0\.1:\d+\/.*\.tif\n?/);
  } finally {
    await s.server.close();
    rmSync(inTemp, { force: true });
  }
  assert.ok(exchange !== '' && !existsSync(exchange), 'the server removes its exchange folder when it closes');
});

test("a world-writable allowed folder (here the OS temp folder, given as --allow-dir) opens only the server user's own files", {
  skip: process.getuid?.() !== 0 && 'needs root to give a file to another user',
}, async () => {
  const { file } = await testImage(64, 48, 22);
  const theirs = path.join(os.tmpdir(), `phasesr-theirs-${process.pid}.tif`);
  const ours = path.join(os.tmpdir(), `phasesr-ours-${process.pid}.tif`);
  copyFileSync(file, theirs);
  copyFileSync(file, ours);
  chownSync(theirs, 65534, 65534);
  const s = await startServer({ allowDirs: [os.tmpdir()] });
  try {
    const c = await TestClient.connect(s.wsUrl);
    c.send({ type: 'open-image', id: 1, path: theirs });
    assert.equal((await c.errorFor(1)).code, 'SR_ERR_PATH_FORBIDDEN');
    c.send({ type: 'open-image', id: 2, path: ours });
    await c.waitFor((m) => m.type === 'image-opened' && m.id === 2);
    c.close();
  } finally {
    await s.server.close();
    rmSync(theirs, { force: true });
    rmSync(ours, { force: true });
  }
});

test('--exchange-dir: created 0700 when missing and kept at close; one other users may write to is refused', async () => {
  const fixed = path.join(tempDir('phasesr-exchange-opt-'), 'exchange');
  const s = await startServer({ exchangeDir: fixed });
  const folders = (await (await fetch(`${s.url}/api/v1/folders`)).json()) as { exchange: string };
  await s.server.close();
  assert.equal(folders.exchange, realpathSync(fixed));
  assert.equal(statSync(fixed).mode & 0o777, 0o700);
  const open = tempDir('phasesr-exchange-open-');
  chmodSync(open, 0o777);
  await assert.rejects(startServer({ exchangeDir: open }), { code: 'SR_ERR_USAGE' });
});
