// No source line over 160 columns. Biome formats to 140 (biome.jsonc) but leaves alone what it cannot break:
// long string and template literals and comments; this keeps those under the limit too.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '../..');
const LIMIT = 160;

test(`no TypeScript or JavaScript line is longer than ${LIMIT} characters`, () => {
  const files = execFileSync('git', ['ls-files', '*.ts', '*.js', '*.mjs'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  assert.ok(files.length > 100, `only ${files.length} files listed`);
  const long: string[] = [];
  for (const f of files) {
    readFileSync(path.join(ROOT, f), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if ([...line].length > LIMIT) long.push(`${f}:${i + 1} (${[...line].length})`);
      });
  }
  assert.deepEqual(long, []);
});
