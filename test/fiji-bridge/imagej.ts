// Runs Debian's real ImageJ 1.x (libij-java's ij.jar) on a macro, as a batch job: `-batch` prints the macro's
// log to stdout and exits when the macro ends. Plain ImageJ 1.53t cannot resolve menu commands headless (its
// Menus build AWT menus, HeadlessException), so it runs under xvfb-run, a virtual display nobody sees. A macro
// error would open a modal dialog and wait forever: the hard timeout kills the whole process group.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const IJ_JAR = process.env.PHASESR_IJ_JAR ?? '/usr/share/java/ij.jar';

export interface ImageJRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const PRESS_ENTER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'press-enter.py');

/**
 * `ijDir`: the ImageJ folder (its plugins/ is scanned for commands); `home`: Java's user.home, so ImageJ's
 * preferences come from a fresh folder, not the user's. `pressEnterUntil`: run the full ImageJ window
 * (`-macro`, as a user starts it) and press Enter once a second, accepting dialogs, until that file exists.
 */
export function runImageJ(
  ijDir: string,
  macroFile: string,
  opts: { home: string; timeoutMs?: number; pressEnterUntil?: string },
): Promise<ImageJRun> {
  if (!existsSync(IJ_JAR)) throw new Error(`${IJ_JAR} not found: apt-get install imagej (or set PHASESR_IJ_JAR)`);
  const java = [
    'java',
    `-Duser.home=${opts.home}`,
    `-Djava.io.tmpdir=${os.tmpdir()}`,
    '-Dfile.encoding=UTF-8',
    '-jar',
    IJ_JAR,
    '-ijpath',
    ijDir,
  ];
  const cmd = opts.pressEnterUntil
    ? ['python3', PRESS_ENTER, opts.pressEnterUntil, ...java, '-macro', macroFile]
    : [...java, '-batch', macroFile];
  const args = ['-a', '-s', '-screen 0 1280x900x24', ...cmd];
  return new Promise((resolve, reject) => {
    const child = spawn('xvfb-run', args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      reject(
        new Error(
          `ImageJ did not finish in ${opts.timeoutMs ?? 180_000} ms (a macro error dialog is likely open); stdout:\n${stdout}\nstderr:\n${stderr}`,
        ),
      );
    }, opts.timeoutMs ?? 180_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run xvfb-run (apt-get install xvfb xauth): ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A macro string literal. */
export function ijString(s: string): string {
  return JSON.stringify(s);
}
