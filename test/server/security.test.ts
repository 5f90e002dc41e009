// Who may use the server: Origin and Host checks (a page on another site cannot drive a local server), the
// token when bound beyond loopback, and server-side paths only inside allowed folders (realpath: no
// traversal, no symlink out). Every refusal is a coded error and the server keeps serving.
import assert from 'node:assert/strict';
import { copyFile, symlink } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import WebSocket from 'ws';

import { SUBPROTOCOL, type ServerMessage } from '../../server/protocol';
import { outsideTempDir, ROOT, tempDir } from '../helpers/shared';
import { startServer, testImage, TestClient, type TestServer } from './helpers';

let srv: TestServer;
let file: string;
before(async () => {
  ({ file } = await testImage(96, 80, 7));
  srv = await startServer();
});
after(() => srv.server.close());

/** The HTTP status and error code of a refused WebSocket handshake (or 101 when accepted). */
function handshake(url: string, headers: Record<string, string> = {}): Promise<{ status: number; code?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, [SUBPROTOCOL], { headers });
    ws.on('open', () => {
      ws.close();
      resolve({ status: 101 });
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(body) as { error: { code: string } }).error.code }));
    });
    ws.on('error', (e) => {
      if (!/Unexpected server response/.test(e.message)) reject(e);
    });
  });
}

test("WebSocket Origin: foreign pages are refused, the server's own origin and non-browser clients pass", async () => {
  const own = srv.url; // http://127.0.0.1:PORT
  assert.deepEqual(await handshake(srv.wsUrl, { Origin: 'http://evil.example' }), { status: 403, code: 'SR_ERR_ORIGIN' });
  assert.deepEqual(await handshake(srv.wsUrl, { Origin: 'http://localhost:1' }), { status: 403, code: 'SR_ERR_ORIGIN' });
  assert.deepEqual(await handshake(srv.wsUrl, { Origin: 'null' }), { status: 403, code: 'SR_ERR_ORIGIN' });
  assert.deepEqual(await handshake(srv.wsUrl, { Origin: own }), { status: 101 });
  assert.deepEqual(await handshake(srv.wsUrl), { status: 101 });
  // DNS rebinding: the page's origin matches its Host, but the Host is not this machine.
  assert.deepEqual(await handshake(srv.wsUrl, { Host: 'evil.example', Origin: 'http://evil.example' }), {
    status: 403,
    code: 'SR_ERR_ORIGIN',
  });
  // State-changing REST from a foreign page is refused too.
  const r = await fetch(`${srv.url}/api/v1/images/open`, {
    method: 'POST',
    headers: { Origin: 'http://evil.example', 'Content-Type': 'application/json' },
    body: JSON.stringify({ path: file }),
  });
  assert.equal(r.status, 403);
  assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'SR_ERR_ORIGIN');
});

test('bound beyond loopback: a generated token is required (query, bearer header or the cookie it sets)', async () => {
  const s = await startServer({ host: '0.0.0.0' });
  try {
    assert.match(s.server.token, /^[0-9a-f]{48}$/);
    assert.ok(s.server.viewerUrl.endsWith(`/?token=${s.server.token}`));
    const base = `http://127.0.0.1:${s.server.port}`;
    const ws = `ws://127.0.0.1:${s.server.port}/ws`;
    assert.deepEqual(await handshake(ws), { status: 401, code: 'SR_ERR_UNAUTHORIZED' });
    assert.deepEqual(await handshake(`${ws}?token=wrong`), { status: 401, code: 'SR_ERR_UNAUTHORIZED' });
    assert.deepEqual(await handshake(`${ws}?token=${s.server.token}`), { status: 101 });
    const no = await fetch(`${base}/health`);
    assert.equal(no.status, 401);
    assert.equal(((await no.json()) as { error: { code: string } }).error.code, 'SR_ERR_UNAUTHORIZED');
    assert.equal((await fetch(`${base}/health`, { headers: { Authorization: `Bearer ${s.server.token}` } })).status, 200);
    const page = await fetch(`${base}/?token=${s.server.token}`);
    assert.equal(page.status, 200);
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
    assert.equal((await fetch(`${base}/api/v1/images`, { headers: { Cookie: cookie } })).status, 200);
    assert.deepEqual(await handshake(ws, { Cookie: cookie }), { status: 101 });
  } finally {
    await s.server.close();
  }
});

test('server-side paths: only inside allowed folders, after resolving symlinks and ..', async () => {
  const c = await TestClient.connect(srv.wsUrl);
  const tmp = tempDir();
  const outside = outsideTempDir('security-test-');
  const image = path.join(outside, 'sample.png');
  await copyFile(path.join(ROOT, 'docs', 'sample.png'), image);
  const link = path.join(tmp, 'link.tif');
  await symlink(image, link); // inside an allowed folder, pointing out of it
  const cases: [string, string][] = [
    [image, 'SR_ERR_PATH_FORBIDDEN'],
    ['/etc/passwd', 'SR_ERR_PATH_FORBIDDEN'],
    [`${tmp}/../../etc/passwd`, 'SR_ERR_PATH_FORBIDDEN'],
    [link, 'SR_ERR_PATH_FORBIDDEN'],
    ['docs/sample.png', 'SR_ERR_PATH_FORBIDDEN'], // relative
    [path.join(tmp, 'missing.tif'), 'SR_ERR_NOT_FOUND'],
    [tmp, 'SR_ERR_IO'], // a folder is not an image
  ];
  let id = 10;
  for (const [p, code] of cases) {
    c.send({ type: 'open-image', id: ++id, path: p });
    assert.equal((await c.errorFor(id)).code, code, p);
  }
  c.send({ type: 'open-image', id: 99, path: file }); // the test folders are allowed (startServer's --allow-dir)
  await c.waitFor((m: ServerMessage) => m.type === 'image-opened' && m.id === 99);
  c.close();

  // --allow-dir opens another folder (its real path).
  const s = await startServer({ allowDirs: [outside] });
  try {
    const r = await fetch(`${s.url}/api/v1/images/open`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ path: path.join(outside, '..', path.basename(outside), 'sample.png') }),
    });
    assert.equal(r.status, 200);
    const sibling = outsideTempDir('security-test-');
    await copyFile(image, path.join(sibling, 'sample.png'));
    const bad = await fetch(`${s.url}/api/v1/images/open`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ path: path.join(sibling, 'sample.png') }),
    });
    assert.equal(bad.status, 403);
  } finally {
    await s.server.close();
  }
});
