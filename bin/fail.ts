// How the CLI ends on an error: one clear line on stderr (with the stable code when there is one) and a
// non-zero exit; a stack trace only with PHASESR_DEBUG=1, for bugs rather than bad input.
import { InvalidArgumentError } from 'commander';

export class UsageError extends Error {
  readonly code = 'SR_ERR_USAGE';
}

export function reportAndExit(e: unknown): never {
  const err = e as Error & { code?: string };
  const code = typeof err.code === 'string' && err.code.startsWith('SR_ERR_') ? ` [${err.code}]` : '';
  process.stderr.write(`phasesr: error: ${err.message ?? String(e)}${code}\n`);
  if (process.env.PHASESR_DEBUG === '1' && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(err.code === 'SR_ERR_USAGE' ? 2 : err.code === 'SR_ERR_INTERRUPTED' ? 130 : 1);
}

/** An option parser for integers in a range; commander reports the InvalidArgumentError and exits 1. */
export function intOption(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer in ${min}..${max}.`);
    return n;
  };
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
