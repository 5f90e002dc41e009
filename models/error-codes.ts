// Every error code of phasesr, in one table that models/, server/, the viewer and the clients import (the
// protocol module re-exports it): what programs switch on, never the message text. Each code has the text a
// message starts from, the HTTP status REST answers with, and the WebSocket close code used when the error
// ends a connection. SR_CLIENT_ codes are raised by the clients themselves (status 0: never on the wire).
// It lives in models/ because models/ is the bottom layer (it imports no other folder). Pure data: bundled
// into the browser viewer, so no Node imports here. Retired codes are listed so they are never reused.

/** WebSocket close codes (RFC 6455 section 7.4.1), by name. */
export const WS_CLOSE = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  tryAgainLater: 1013,
} as const;
export type WsCloseName = keyof typeof WS_CLOSE;

export const ERROR_CODES = {
  /** Not JSON, not an object, or a field failed its schema; the connection stays usable. */
  SR_ERR_BAD_MESSAGE: { status: 400, text: 'malformed message', close: 'policyViolation' },
  /** A JSON message whose `type` this server does not know. */
  SR_ERR_UNKNOWN_TYPE: { status: 400, text: 'unknown message type', close: 'policyViolation' },
  /** A binary frame with a wrong magic, version, kind or length. */
  SR_ERR_BAD_FRAME: { status: 400, text: 'malformed binary frame', close: 'protocolError' },
  /** The client speaks a protocol version this server does not. */
  SR_ERR_PROTOCOL_VERSION: { status: 400, text: 'unsupported protocol version', close: 'protocolError' },
  /** A bad parameter (REST query, CLI-like option). */
  SR_ERR_USAGE: { status: 400, text: 'invalid parameter', close: 'policyViolation' },
  /** A request id that is already in flight on this connection. */
  SR_ERR_DUPLICATE_ID: { status: 409, text: 'request id already in use', close: 'policyViolation' },
  /** Missing or wrong token (server bound to a non-loopback address). */
  SR_ERR_UNAUTHORIZED: { status: 401, text: 'token required', close: 'policyViolation' },
  /** A browser page from another origin tried to drive this server. */
  SR_ERR_ORIGIN: { status: 403, text: 'origin not allowed', close: 'policyViolation' },
  /** A server-side path outside the allowed folders (after resolving symlinks). */
  SR_ERR_PATH_FORBIDDEN: { status: 403, text: 'path not allowed', close: 'policyViolation' },
  /** No image with this id is open (or this connection did not open it). */
  SR_ERR_NOT_FOUND: { status: 404, text: 'not found', close: 'policyViolation' },
  /** A tile address outside the image's pyramid. */
  SR_ERR_TILE_OUT_OF_RANGE: { status: 404, text: 'tile out of range', close: 'policyViolation' },
  /** Message, upload or image too large (bytes or pixels). */
  SR_ERR_TOO_LARGE: { status: 413, text: 'too large', close: 'messageTooBig' },
  /** An upload whose chunks do not add up (order, count, size). */
  SR_ERR_UPLOAD: { status: 400, text: 'upload failed', close: 'policyViolation' },
  /** This client (or the whole server) holds as many uploads in progress or open images as allowed: finish or close some. */
  SR_ERR_TOO_MANY: { status: 429, text: 'too many uploads or open images', close: 'tryAgainLater' },
  /** The inference queue (or this connection's share of it) is full: retry later. */
  SR_ERR_BUSY: { status: 503, text: 'server busy', close: 'tryAgainLater' },
  /** This connection has too many sent bytes its client has not read yet: read (or cancel) before asking for more. */
  SR_ERR_SLOW_CLIENT: { status: 503, text: 'client reads too slowly', close: 'policyViolation' },
  /** The shared job queue (Redis, `serve --redis`) cannot be reached: retry when /health says it is back. */
  SR_ERR_QUEUE_UNAVAILABLE: { status: 503, text: 'job queue unavailable', close: 'tryAgainLater' },
  /**
   * A tile could not be written into the tile cache (a Redis worker's shared cache: disk full, permissions); the job was
   * not marked done and can be asked for again.
   */
  SR_ERR_CACHE_WRITE: { status: 503, text: 'tile cache write failed', close: 'tryAgainLater' },
  /**
   * `serve --redis`: no worker has shown a sign of life for a while (none started, all stopped), so queued work would
   * wait forever; retry when /health lists a live worker.
   */
  SR_ERR_NO_WORKER: { status: 503, text: 'no live worker', close: 'tryAgainLater' },
  /** The request was cancelled (by the client, a viewport change, or image close). */
  SR_ERR_CANCELLED: { status: 499, text: 'cancelled', close: 'policyViolation' },
  /** Image I/O errors passed through from models/io. */
  SR_ERR_IO: { status: 500, text: 'I/O error', close: 'internalError' },
  SR_ERR_IMAGE_DECODE: { status: 422, text: 'cannot decode image', close: 'policyViolation' },
  SR_ERR_IMAGE_EMPTY: { status: 422, text: 'empty image', close: 'policyViolation' },
  SR_ERR_IMAGE_TYPE: { status: 415, text: 'unsupported image type', close: 'policyViolation' },
  SR_ERR_IMAGE_MULTIPAGE: { status: 422, text: 'multi-page image', close: 'policyViolation' },
  SR_ERR_REGION: { status: 400, text: 'region outside image', close: 'policyViolation' },
  SR_ERR_OUTPUT_FORMAT: { status: 400, text: 'unsupported output format', close: 'policyViolation' },
  /** Model problems passed through from models/. */
  SR_ERR_MODEL_NOT_FOUND: { status: 404, text: 'model not found', close: 'internalError' },
  SR_ERR_MODEL_FORMAT: { status: 500, text: 'bad model file', close: 'internalError' },
  SR_ERR_MODEL_HASH: { status: 500, text: 'model hash mismatch', close: 'internalError' },
  /** The int8 engine was asked for, and the model's int8-calibration.json is missing, malformed or for other weights. */
  SR_ERR_MODEL_CALIBRATION: { status: 500, text: 'model has no valid int8 calibration', close: 'internalError' },
  /** The engine asked for cannot start here (no GPU adapter, no CUDA libraries); the message names the fallback. */
  SR_ERR_ENGINE_UNAVAILABLE: { status: 503, text: 'engine unavailable', close: 'internalError' },
  /** A GPU engine would have run part of the model on the CPU: refused rather than mixed silently. */
  SR_ERR_ENGINE_FALLBACK: { status: 503, text: 'engine would fall back to the CPU', close: 'internalError' },
  /** The server cannot listen: another program holds the port (checked before the model loads). */
  SR_ERR_PORT_IN_USE: { status: 500, text: 'port in use', close: 'internalError' },
  /** A bug: logged on the server with its stack. */
  SR_ERR_INTERNAL: { status: 500, text: 'internal error', close: 'internalError' },
  /** `models/`: a model.json whose configuration is not a generator this code can build (bad preset, widths, scale). */
  SR_ERR_MODEL_CONFIG: { status: 500, text: 'bad model configuration', close: 'internalError' },
  /** `phasesr eval`: a data folder or split that does not give HR images to evaluate. */
  SR_ERR_EVAL_DATA: { status: 400, text: 'no evaluation data', close: 'policyViolation' },
  /** A long command (training, batch) stopped by Ctrl-C / SIGTERM after saving what it had; run it again to continue. */
  SR_ERR_INTERRUPTED: { status: 499, text: 'interrupted', close: 'goingAway' },
  /** Client side (never sent by the server): the connection closed before the answer. */
  SR_CLIENT_CLOSED: { status: 0, text: 'connection closed', close: 'normal' },
  /** Client side: the socket could not connect (the errno, e.g. ECONNREFUSED, is used when there is one). */
  SR_CLIENT_CONNECT: { status: 0, text: 'cannot connect', close: 'normal' },
  /** Client side: no hello within the connect timeout. */
  SR_CLIENT_TIMEOUT: { status: 0, text: 'no hello in time', close: 'normal' },
  /** Client side: the server did not speak the protocol (no hello, unreadable message). */
  SR_CLIENT_PROTOCOL: { status: 0, text: 'not a phasesr server', close: 'protocolError' },
  /** Client side: a local file changed size while it was uploaded. */
  SR_CLIENT_UPLOAD: { status: 0, text: 'file changed while uploading', close: 'normal' },
  /** Client side: a result's size or sha256 differs from what the server announced. */
  SR_CLIENT_CORRUPT: { status: 0, text: 'result arrived damaged', close: 'normal' },
} as const satisfies Record<string, { status: number; text: string; close: WsCloseName }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes that were once used and must never be given a new meaning. */
export const RETIRED_ERROR_CODES: readonly string[] = [];

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/** HTTP status for a code (500 for anything unknown). */
export function httpStatusOf(code: string): number {
  return isErrorCode(code) ? ERROR_CODES[code].status : 500;
}

/** The WebSocket close code for an error that ends a connection (policy violation for anything unknown). */
export function closeCodeOf(code: string): number {
  return WS_CLOSE[isErrorCode(code) ? ERROR_CODES[code].close : 'policyViolation'];
}

/** An error with a code from the table: what models/ and server/ throw (typed, so a code not in the table does not compile). */
export class CodedError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CodedError';
  }
}
