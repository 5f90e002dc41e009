// How the CLI ends on an error: one clear line on stderr (with the stable code when there is one) and a
// non-zero exit; a stack trace only with PHASESR_DEBUG=1, for bugs rather than bad input.
import { statSync } from 'node:fs';
import { isIP } from 'node:net';
import { InvalidArgumentError } from 'commander';
import { MIN_PITCH } from '../models/degradation/resample';

/** The exit status of every usage error (bad option, argument or input path), in every command. */
export const EXIT_USAGE = 2;

export class UsageError extends Error {
  readonly code = 'SR_ERR_USAGE';
}

export function reportAndExit(e: unknown): never {
  const err = e as Error & { code?: string };
  const code = typeof err.code === 'string' && err.code.startsWith('SR_ERR_') ? ` [${err.code}]` : '';
  process.stderr.write(`phasesr: error: ${err.message ?? String(e)}${code}\n`);
  if (process.env.PHASESR_DEBUG === '1' && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(err.code === 'SR_ERR_USAGE' ? EXIT_USAGE : err.code === 'SR_ERR_INTERRUPTED' ? 130 : 1);
}

/** An option parser for integers in a range; commander reports the InvalidArgumentError (exit 2, see cli.ts). */
export function intOption(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer in ${min}..${max}.`);
    return n;
  };
}

/**
 * An option parser for comma-separated pixel pitches from MIN_PITCH to 4 but not 1 (train --wide-pitches, eval
 * --scope-pitch): past 4, a 1024^2 field at 8x leaves too few crops, and cells a few pixels across; 1 is the
 * recording itself.
 */
export function pitchList(v: string): number[] {
  const list = v.split(',').map((x) => Number(x.trim()));
  if (list.some((p) => !Number.isFinite(p) || p < MIN_PITCH || p === 1 || p > 4)) {
    throw new InvalidArgumentError(
      `must be pixel pitches from ${MIN_PITCH} to 4 other than 1, comma-separated (e.g. 0.75,1.5,2,3; below 1: a finer camera).`,
    );
  }
  return list;
}

/** An option parser for a finite number > 0. */
export function positiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number > 0.');
  return n;
}

export function nonNegative(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number >= 0.');
  return n;
}

/** An option parser for an address to bind: an IP or a host name, without a port (that is --port). */
export function hostOption(v: string): string {
  const withPort = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(v);
  if (withPort)
    throw new InvalidArgumentError(`give the address alone and the port with --port: --host ${withPort[1]} --port ${withPort[2]}`);
  if (isIP(v) === 0 && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(v)) {
    throw new InvalidArgumentError('must be an IP address (127.0.0.1, 0.0.0.0, ::1) or a host name.');
  }
  return v;
}

/**
 * An input image must be an existing file: checked before any model loads, so a typo is reported at once.
 * @throws UsageError naming the path (and, for a folder, what to pass instead)
 */
export function checkInputFile(file: string, folderHint: string): void {
  let st;
  try {
    st = statSync(file);
  } catch {
    throw new UsageError(`no such input file: ${file}`);
  }
  if (st.isDirectory()) throw new UsageError(`${file} is a folder: ${folderHint}`);
}
