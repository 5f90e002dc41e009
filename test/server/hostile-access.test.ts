// Hostile access, over real sockets: a server bound beyond loopback never runs without a token, a
// malformed token cookie (any page on this host can set one) is a refusal, not a crash, and pages of other
// sites cannot make a visitor's browser start work (<img> tile GETs, one-shot jobs).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { phasesr } from '../helpers/cli';
import { startServer, testImage, type TestServer } from './helpers';

let tokened: TestServer;
before(async () => {
  tokened = await startServer({ host: '127.0.0.1', token: 'secret-token' });
});
after(() => tokened.server.close());

test('an empty token off loopback refuses to start (API and CLI), with a clear message', async () => {
  const started = await startServer({ host: '0.0.0.0', token: '' }).catch((e: Error & { code?: string }) => e);
  if ('server' in started) await started.server.close();
  assert.ok(started instanceof Error, 'the server started without a token on 0.0.0.0');
  assert.equal(started.code, 'SR_ERR_USAGE');
  assert.match(started.message, /empty token/);
  // (Were it to start, the CLI would keep serving until the timeout kills it.)
  const r = await phasesr(['serve', '--host', '0.0.0.0', '--token', '', '--port', '0', '--model', 'lite'], { timeoutMs: 120_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /empty token.*\[SR_ERR_USAGE\]/);
  assert.doesNotMatch(r.stdout, /phasesr server:/);
});

test('a malformed phasesr_token cookie is a 401 with a code, never a 500', async () => {
  for (const bad of ['%', '%E0%A4%A', 'a%zz']) {
    const r = await fetch(`${tokened.url}/health`, { headers: { Cookie: `phasesr_token=${bad}` } });
    assert.equal(r.status, 401, bad);
    const body = (await r.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'SR_ERR_UNAUTHORIZED');
    assert.doesNotMatch(body.error.message, /URIError|\n\s+at /);
  }
  // The right token still works beside a malformed cookie.
  const ok = await fetch(`${tokened.url}/health`, { headers: { Cookie: 'phasesr_token=%', Authorization: 'Bearer secret-token' } });
  assert.equal(ok.status, 200);
});

test('cross-site GETs that start work are refused (tiles, one-shot jobs); pages and non-browser clients pass', async () => {
  const { file } = await testImage(64, 48, 31);
  const s = await startServer({ images: [file] });
  try {
    const id = s.server.store.list()[0]!.id;
    const tile = `${s.url}/api/v1/images/${id}/sr_files/${s.server.store.get(id).pyramid.nativeLevel + 1}/0_0.png`;
    const sr = `${s.url}/api/v1/sr?path=${encodeURIComponent(file)}`;
    const refused = [
      [tile, { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'no-cors', 'Sec-Fetch-Dest': 'image' }], // <img src> on another site
      [tile, { 'Sec-Fetch-Site': 'same-site' }], // a page on another port of this host
      [tile, { Origin: 'http://evil.example' }],
      [sr, { Origin: 'http://evil.example' }], // foreign Origin, no Sec-Fetch-Site
      [sr, { 'Sec-Fetch-Site': 'cross-site' }],
    ] as const;
    for (const [url, headers] of refused) {
      const r = await fetch(url, { headers });
      assert.equal(r.status, 403, `${url} ${JSON.stringify(headers)}`);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'SR_ERR_ORIGIN');
    }
    assert.equal(s.server.stats.engineCalls, 0, 'a refused request started work');
    // The server's own pages, and clients without browser headers, are served.
    assert.equal((await fetch(tile, { headers: { 'Sec-Fetch-Site': 'same-origin', Origin: s.url } })).status, 200);
    assert.equal((await fetch(tile)).status, 200);
    assert.ok(s.server.stats.engineCalls > 0);
    assert.equal(
      (await fetch(`${s.url}/list`, { headers: { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate' } })).status,
      200,
      'a link from another site still opens the page',
    );
  } finally {
    await s.server.close();
  }
});
