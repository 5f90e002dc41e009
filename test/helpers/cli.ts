// Runs the real `phasesr` executable in a child process, as a user would.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './shared';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function phasesr(args: string[], opts: { cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin', 'phasesr.js'), ...args],
      { cwd: opts.cwd ?? ROOT, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 16 << 20, env: { ...process.env, ...opts.env } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}
