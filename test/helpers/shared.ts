// Where the project's shared data sits (../shared beside the checkout, as in CI) and temp-dir helpers.
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { isInside } from '../../server/images/allowed-paths';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED = process.env.PHASESR_SHARED ?? path.resolve(ROOT, '..', 'shared');
export const DATA = path.join(SHARED, 'data', 'phase-contrast');

let testTemp: string | undefined;

/**
 * This test process's folder in the OS temp folder (0700, removed at exit), which holds every tempDir().
 * The test servers allow it (--allow-dir), as a user allows a data folder: the server itself opens by path
 * only its private exchange folder and the folders it is given, never the whole OS temp folder.
 */
export function testTempRoot(): string {
  if (testTemp === undefined) {
    const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'phasesr-tests-')));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    testTemp = dir;
  }
  return testTemp;
}

/** A fresh temp directory (inside testTempRoot()), removed when the test process exits. */
export function tempDir(prefix = 'phasesr-test-'): string {
  const dir = mkdtempSync(path.join(testTempRoot(), prefix));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A fresh directory outside the OS temp folder (so outside testTempRoot(), which the test servers allow):
 * a path in it must be refused unless --allow-dir names it. The checkout's git-ignored .cache/ serves unless
 * the checkout itself lies under the temp folder (a clone in /tmp); then the user's ~/.cache does.
 */
export function outsideTempDir(prefix = 'phasesr-test-'): string {
  const temp = realpathSync(os.tmpdir());
  for (const base of [path.join(ROOT, '.cache'), path.join(os.homedir(), '.cache', 'phasesr-tests')]) {
    mkdirSync(base, { recursive: true });
    const dir = mkdtempSync(path.join(base, prefix));
    // The server's own rule (after realpath, as it judges paths) decides what counts as inside.
    if (isInside(realpathSync(dir), temp)) {
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }
  throw new Error(`these tests need a writable folder outside the OS temp folder ${temp}: neither the checkout's .cache nor ~/.cache is`);
}
