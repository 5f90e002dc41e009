// Hostile server-side paths, over real sockets: a FIFO (or any non-regular file) in an allowed folder is
// refused at once instead of blocking the I/O thread pool, and in the world-writable OS temp folder another
// user's file is refused; the server's own files there still open (the Fiji bridge hands images over so).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, closeSync, constants, copyFileSync, openSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { startServer, testImage, TestClient, type TestServer } from './helpers';

let srv: TestServer;
let dir: string;
let fifo: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'phasesr-hostile-paths-'));
  fifo = path.join(dir, 'pipe.tif');
  execFileSync('mkfifo', [fifo]);
  srv = await startServer();
});
after(async () => {
  // Were a reader blocked on the FIFO, a writer that opens and closes it lets it go (so close() can end).
  try { closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)); } catch { /* no reader waiting */ }
  await srv.server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a FIFO is refused without blocking, and ordinary work goes on', async () => {
  const c = await TestClient.connect(srv.wsUrl);
  for (let id = 1; id <= 6; id++) c.send({ type: 'open-image', id, path: fifo });
  for (let id = 1; id <= 6; id++) assert.equal((await c.errorFor(id)).code, 'SR_ERR_PATH_FORBIDDEN');
  const rest = await fetch(`${srv.url}/api/v1/images/open`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ path: fifo }) });
  assert.equal(((await rest.json()) as { error: { code: string } }).error.code, 'SR_ERR_PATH_FORBIDDEN');
  // The thread pool is free: a real file opens, by path and by upload.
  const { file } = await testImage(64, 48, 21);
  const mine = path.join(dir, 'mine.tif');
  copyFileSync(file, mine);
  c.send({ type: 'open-image', id: 10, path: mine });
  await c.waitFor((m) => m.type === 'image-opened' && m.id === 10);
  const up = await fetch(`${srv.url}/api/v1/images?name=u.tif`, { method: 'POST', body: await (await import('node:fs/promises')).readFile(file) });
  assert.equal(up.status, 201);
  c.close();
});

test('in the OS temp folder, another user\'s file is refused and the server user\'s own file opens', { skip: process.getuid?.() !== 0 && 'needs root to give a file to another user' }, async () => {
  const { file } = await testImage(64, 48, 22);
  const theirs = path.join(os.tmpdir(), `phasesr-theirs-${process.pid}.tif`);
  const ours = path.join(os.tmpdir(), `phasesr-ours-${process.pid}.tif`);
  copyFileSync(file, theirs);
  copyFileSync(file, ours);
  chownSync(theirs, 65534, 65534);
  try {
    const c = await TestClient.connect(srv.wsUrl);
    c.send({ type: 'open-image', id: 1, path: theirs });
    assert.equal((await c.errorFor(1)).code, 'SR_ERR_PATH_FORBIDDEN');
    c.send({ type: 'open-image', id: 2, path: ours });
    await c.waitFor((m) => m.type === 'image-opened' && m.id === 2);
    c.close();
  } finally {
    rmSync(theirs, { force: true });
    rmSync(ours, { force: true });
  }
});
