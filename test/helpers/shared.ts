// Where the project's shared data sits (../shared beside the checkout, as in CI) and temp-dir helpers.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED = process.env.PHASESR_SHARED ?? path.resolve(ROOT, '..', 'shared');
export const DATA = path.join(SHARED, 'data', 'phase-contrast');

/** A fresh temp directory, removed when the test process exits. */
export function tempDir(prefix = 'phasesr-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
