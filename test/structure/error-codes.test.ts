// One error table: every code that any part of phasesr throws, sends or switches on is in
// models/error-codes.ts (a code outside it reached clients as SR_ERR_INTERNAL, e.g. SR_ERR_MODEL_CONFIG),
// and every entry names an HTTP status and a WebSocket close code.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { closeCodeOf, ERROR_CODES, httpStatusOf, isErrorCode, WS_CLOSE } from '../../models/error-codes';

const ROOT = path.resolve(import.meta.dirname, '../..');

function files(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir)).flatMap((n) => {
    if (n === 'node_modules' || n === 'dist') return [];
    const rel = path.join(dir, n);
    if (statSync(path.join(ROOT, rel)).isDirectory()) return files(rel);
    return /\.(ts|ijm|py)$/.test(n) ? [rel] : [];
  });
}

test('every SR_ERR_/SR_CLIENT_ code in the source is in the one table', () => {
  const seen = new Map<string, string>();
  for (const f of ['bin', 'models', 'server', 'viewer/src', 'plugin', 'fiji-bridge'].flatMap(files)) {
    for (const m of readFileSync(path.join(ROOT, f), 'utf8').matchAll(/\bSR_(?:ERR|CLIENT)_[A-Z0-9_]*[A-Z0-9]\b/g)) {
      if (!seen.has(m[0])) seen.set(m[0], f);
    }
  }
  assert.ok(seen.size > 30, `the scan found only ${seen.size} codes`);
  const missing = [...seen].filter(([code]) => !isErrorCode(code)).map(([code, f]) => `${code} (${f})`);
  assert.deepEqual(missing, []);
});

test('each entry has a message text, an HTTP status (0 for client-side codes) and a named close code', () => {
  for (const [code, e] of Object.entries(ERROR_CODES)) {
    assert.ok(e.text.length > 0, code);
    if (code.startsWith('SR_CLIENT_')) assert.equal(e.status, 0, code);
    else assert.ok(e.status >= 400 && e.status < 600, `${code}: ${e.status}`);
    assert.ok(Object.hasOwn(WS_CLOSE, e.close), code);
  }
  assert.equal(httpStatusOf('SR_ERR_MODEL_CONFIG'), 500);
  assert.equal(closeCodeOf('SR_ERR_PROTOCOL_VERSION'), 1002);
  assert.equal(closeCodeOf('SR_ERR_TOO_LARGE'), 1009);
  assert.equal(httpStatusOf('NOT_A_CODE'), 500);
});
