// Hostile access, over real sockets: a server bound beyond loopback never runs without a token, and a
// malformed token cookie (any page on this host can set one) is a refusal, not a crash.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { phasesr } from '../helpers/cli';
import { startServer, type TestServer } from './helpers';

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
  const r = await phasesr(['serve', '--host', '0.0.0.0', '--token', '', '--port', '0', '--model', 'lite'], { timeoutMs: 30_000 });
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
