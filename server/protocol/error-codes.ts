// Stable error codes of the server and its wire protocol: what clients switch on (never the message text).
// Each code has the HTTP status REST answers with. Retired codes are listed so they are never reused.
// Pure data: bundled into the browser viewer, so no Node imports here.

export const ERROR_CODES = {
  /** Not JSON, not an object, or a field failed its schema; the connection stays usable. */
  SR_ERR_BAD_MESSAGE: { status: 400, text: 'malformed message' },
  /** A JSON message whose `type` this server does not know. */
  SR_ERR_UNKNOWN_TYPE: { status: 400, text: 'unknown message type' },
  /** A binary frame with a wrong magic, version, kind or length. */
  SR_ERR_BAD_FRAME: { status: 400, text: 'malformed binary frame' },
  /** The client speaks a protocol version this server does not. */
  SR_ERR_PROTOCOL_VERSION: { status: 400, text: 'unsupported protocol version' },
  /** A bad parameter (REST query, CLI-like option). */
  SR_ERR_USAGE: { status: 400, text: 'invalid parameter' },
  /** A request id that is already in flight on this connection. */
  SR_ERR_DUPLICATE_ID: { status: 409, text: 'request id already in use' },
  /** Missing or wrong token (server bound to a non-loopback address). */
  SR_ERR_UNAUTHORIZED: { status: 401, text: 'token required' },
  /** A browser page from another origin tried to drive this server. */
  SR_ERR_ORIGIN: { status: 403, text: 'origin not allowed' },
  /** A server-side path outside the allowed folders (after resolving symlinks). */
  SR_ERR_PATH_FORBIDDEN: { status: 403, text: 'path not allowed' },
  /** No image with this id is open (or this connection did not open it). */
  SR_ERR_NOT_FOUND: { status: 404, text: 'not found' },
  /** A tile address outside the image's pyramid. */
  SR_ERR_TILE_OUT_OF_RANGE: { status: 404, text: 'tile out of range' },
  /** Message, upload or image too large (bytes or pixels). */
  SR_ERR_TOO_LARGE: { status: 413, text: 'too large' },
  /** An upload whose chunks do not add up (order, count, size). */
  SR_ERR_UPLOAD: { status: 400, text: 'upload failed' },
  /** This client (or the whole server) holds as many uploads in progress or open images as allowed: finish or close some. */
  SR_ERR_TOO_MANY: { status: 429, text: 'too many uploads or open images' },
  /** The inference queue (or this connection's share of it) is full: retry later. */
  SR_ERR_BUSY: { status: 503, text: 'server busy' },
  /** This connection has too many sent bytes its client has not read yet: read (or cancel) before asking for more. */
  SR_ERR_SLOW_CLIENT: { status: 503, text: 'client reads too slowly' },
  /** The request was cancelled (by the client, a viewport change, or image close). */
  SR_ERR_CANCELLED: { status: 499, text: 'cancelled' },
  /** Image I/O errors passed through from models/io. */
  SR_ERR_IO: { status: 500, text: 'I/O error' },
  SR_ERR_IMAGE_DECODE: { status: 422, text: 'cannot decode image' },
  SR_ERR_IMAGE_EMPTY: { status: 422, text: 'empty image' },
  SR_ERR_IMAGE_TYPE: { status: 415, text: 'unsupported image type' },
  SR_ERR_IMAGE_MULTIPAGE: { status: 422, text: 'multi-page image' },
  SR_ERR_REGION: { status: 400, text: 'region outside image' },
  SR_ERR_OUTPUT_FORMAT: { status: 400, text: 'unsupported output format' },
  /** Model problems passed through from models/. */
  SR_ERR_MODEL_NOT_FOUND: { status: 404, text: 'model not found' },
  SR_ERR_MODEL_FORMAT: { status: 500, text: 'bad model file' },
  SR_ERR_MODEL_HASH: { status: 500, text: 'model hash mismatch' },
  /** The int8 engine was asked for, and the model's int8-calibration.json is missing, malformed or for other weights. */
  SR_ERR_MODEL_CALIBRATION: { status: 500, text: 'model has no valid int8 calibration' },
  /** The engine asked for cannot start here (no GPU adapter, no CUDA libraries); the message names the fallback. */
  SR_ERR_ENGINE_UNAVAILABLE: { status: 503, text: 'engine unavailable' },
  /** A GPU engine would have run part of the model on the CPU: refused rather than mixed silently. */
  SR_ERR_ENGINE_FALLBACK: { status: 503, text: 'engine would fall back to the CPU' },
  /** The server cannot listen: another program holds the port (checked before the model loads). */
  SR_ERR_PORT_IN_USE: { status: 500, text: 'port in use' },
  /** A bug: logged on the server with its stack. */
  SR_ERR_INTERNAL: { status: 500, text: 'internal error' },
} as const satisfies Record<string, { status: number; text: string }>;

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
