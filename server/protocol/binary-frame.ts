// Binary WebSocket frames: a fixed 32-byte little-endian header naming the request, then the payload.
// Used for tiles (server -> client), upload chunks (client -> server) and result chunks (server -> client).
// Pure DataView code: runs in Node and in the browser.

/** "PSR1" read as a little-endian u32. */
export const FRAME_MAGIC = 0x31525350;
export const FRAME_VERSION = 1;
export const FRAME_HEADER_BYTES = 32;

/** What a binary frame carries. */
export const FRAME_KINDS = { tile: 1, uploadChunk: 2, resultChunk: 3 } as const;
export type FrameKind = keyof typeof FRAME_KINDS;

/** Tile layers: the model's output, or a bicubic upsample of the same LR region (for comparison). */
export const LAYERS = ['sr', 'bicubic'] as const;
export type Layer = (typeof LAYERS)[number];

/**
 * Tile payload encodings. png: 8-bit grey, lossless, display-mapped through the image's percentiles
 * (low -> 0, high -> 255). u16: raw little-endian uint16 in the image's intensity units (rounded, clipped to
 * 0..65535). f32: raw little-endian float32 in the image's intensity units, unclipped. u16z / f32z: the same
 * samples through raw-filter.ts (byte planes; row deltas for u16), then zlib deflate: what the viewer uses.
 */
export const ENCODINGS = ['png', 'u16', 'f32', 'u16z', 'f32z'] as const;
export type Encoding = (typeof ENCODINGS)[number];

/** Flag bit: the last chunk of an upload or result. */
export const FLAG_LAST = 1;

export interface FrameHeader {
  kind: FrameKind;
  /** The JSON request id this frame answers (tiles, results) or belongs to (upload chunks). */
  requestId: number;
  /** Tiles: layer and encoding; chunks: 'sr' / 'png' (ignored). */
  layer: Layer;
  encoding: Encoding;
  /** Tiles: deep-zoom level; chunks: 0. */
  level: number;
  flags: number;
  /** Tiles: column and row; chunks: x = chunk sequence number from 0, y = 0. */
  x: number;
  y: number;
  /** Tiles: pixel size of the payload; chunks: 0. */
  width: number;
  height: number;
}

export interface Frame {
  header: FrameHeader;
  payload: Uint8Array;
}

/** Why a frame was refused: the error's `code` is SR_ERR_BAD_FRAME. */
export class FrameError extends Error {
  readonly code = 'SR_ERR_BAD_FRAME';
}

/**
 * Header layout (bytes, little-endian):
 * 0 u32 magic | 4 u8 version | 5 u8 kind | 6 u8 layer | 7 u8 encoding | 8 u32 requestId | 12 u16 level |
 * 14 u16 flags | 16 u32 x | 20 u32 y | 24 u16 width | 26 u16 height | 28 u32 payloadBytes | 32 payload.
 * @example
 * const header = { kind: 'tile', requestId: 7, layer: 'sr', encoding: 'png', level: 12, flags: 0, x: 3, y: 4, width: 256, height: 256 };
 * const bytes = encodeFrame(header, png);
 */
export function encodeFrame(h: FrameHeader, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.byteLength);
  const v = new DataView(out.buffer);
  v.setUint32(0, FRAME_MAGIC, true);
  v.setUint8(4, FRAME_VERSION);
  v.setUint8(5, FRAME_KINDS[h.kind]);
  v.setUint8(6, LAYERS.indexOf(h.layer));
  v.setUint8(7, ENCODINGS.indexOf(h.encoding));
  v.setUint32(8, h.requestId, true);
  v.setUint16(12, h.level, true);
  v.setUint16(14, h.flags, true);
  v.setUint32(16, h.x, true);
  v.setUint32(20, h.y, true);
  v.setUint16(24, h.width, true);
  v.setUint16(26, h.height, true);
  v.setUint32(28, payload.byteLength, true);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** Parses a frame; the payload is a view into `bytes` (no copy). @throws FrameError */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.byteLength < FRAME_HEADER_BYTES)
    throw new FrameError(`binary frame of ${bytes.byteLength} bytes is shorter than the ${FRAME_HEADER_BYTES}-byte header`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0, true) !== FRAME_MAGIC) throw new FrameError('binary frame does not start with the PSR1 magic');
  const version = v.getUint8(4);
  if (version !== FRAME_VERSION) throw new FrameError(`binary frame version ${version} is not supported (expected ${FRAME_VERSION})`);
  const kindNo = v.getUint8(5);
  const kind = (Object.keys(FRAME_KINDS) as FrameKind[]).find((k) => FRAME_KINDS[k] === kindNo);
  const layer = LAYERS[v.getUint8(6)];
  const encoding = ENCODINGS[v.getUint8(7)];
  if (!kind) throw new FrameError(`unknown binary frame kind ${kindNo}`);
  if (!layer || !encoding) throw new FrameError('binary frame names an unknown layer or encoding');
  const payloadBytes = v.getUint32(28, true);
  if (payloadBytes !== bytes.byteLength - FRAME_HEADER_BYTES) {
    throw new FrameError(`binary frame says ${payloadBytes} payload bytes but carries ${bytes.byteLength - FRAME_HEADER_BYTES}`);
  }
  return {
    header: {
      kind,
      layer,
      encoding,
      requestId: v.getUint32(8, true),
      level: v.getUint16(12, true),
      flags: v.getUint16(14, true),
      x: v.getUint32(16, true),
      y: v.getUint32(20, true),
      width: v.getUint16(24, true),
      height: v.getUint16(26, true),
    },
    payload: bytes.subarray(FRAME_HEADER_BYTES),
  };
}

/** A chunk frame (upload or result) for request `requestId`, sequence number `seq`. */
export function encodeChunk(
  kind: 'uploadChunk' | 'resultChunk',
  requestId: number,
  seq: number,
  payload: Uint8Array,
  last: boolean,
): Uint8Array {
  return encodeFrame(
    { kind, requestId, layer: 'sr', encoding: 'png', level: 0, flags: last ? FLAG_LAST : 0, x: seq, y: 0, width: 0, height: 0 },
    payload,
  );
}
