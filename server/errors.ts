// The server's error type: models/' CodedError (a code from the one table, a message for a person) plus the
// HTTP status that code maps to. Anything thrown with a SR_ERR_ code (models/ errors included) keeps its code.
import { CodedError, httpStatusOf, isErrorCode, type ErrorCode } from './protocol';

export class ServerError extends CodedError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ServerError';
  }

  get status(): number {
    return httpStatusOf(this.code);
  }
}

/**
 * Any thrown value as {code, message}; unknown errors become SR_ERR_INTERNAL (and are worth logging). An
 * internal error's own text stays in the server log: it can name server paths (EMFILE on a temp file).
 */
export function toWireError(e: unknown): { code: ErrorCode; message: string; internal: boolean } {
  const err = e as { code?: unknown; message?: unknown };
  if (err && isErrorCode(err.code) && err.code !== 'SR_ERR_INTERNAL')
    return { code: err.code, message: String(err.message), internal: false };
  return { code: 'SR_ERR_INTERNAL', message: 'internal error (the server log has the details)', internal: true };
}

/** `name` must be `expected`, got `actual` (one wording for every parameter check). */
export function invalidParam(name: string, expected: string, actual: unknown): ServerError {
  return new ServerError('SR_ERR_USAGE', `${name} must be ${expected}, got ${JSON.stringify(actual)}`);
}

/**
 * Rewrites an error's message to say `name` where it says `file` (a temp copy of an upload): users know
 * their file by its own name, not by the server's temp path. Returns `e`, to rethrow.
 */
export function nameFileInError(e: unknown, file: string, name: string): unknown {
  const err = e as { message?: unknown };
  if (typeof err?.message === 'string') err.message = err.message.split(file).join(name);
  return e;
}
