// JSON control messages of the phasesr WebSocket protocol (docs/protocol.md), as zod schemas so that server,
// viewer and clients validate the same way. Binary payloads (tiles, chunks) are in binary-frame.ts.
// Pure: no Node imports (bundled into the browser viewer).
import { z } from 'zod';

import { ENCODINGS, LAYERS } from './binary-frame';
import { ERROR_CODES, type ErrorCode } from './error-codes';

export const PROTOCOL_VERSION = 1;
/** The WebSocket subprotocol a client must offer (Sec-WebSocket-Protocol). */
export const SUBPROTOCOL = `phasesr.v${PROTOCOL_VERSION}`;
/** WebSocket path on the server. */
export const WS_PATH = '/ws';

/** Client-chosen request id, unique among the connection's requests in flight; echoed in replies and frames. */
const RequestId = z.number().int().min(1).max(0xffffffff);
const ImageId = z.string().regex(/^[0-9a-f]{16}$/, '16 lowercase hex digits');
const Int = z.number().int().nonnegative();
const Name = z.string().min(1).max(255);

export const PixelSizeSchema = z.object({ x: z.number().positive(), y: z.number().positive(), unit: z.string() });

export const PyramidLevelSchema = z.object({
  level: Int,
  width: Int,
  height: Int,
  scale: z.number(),
  columns: Int,
  rows: Int,
  source: z.enum(['downsampled', 'native', 'model']),
});

/** What the server tells about an open image (also GET /api/v1/images/:id). */
export const ImageInfoSchema = z.object({
  imageId: ImageId,
  name: z.string(),
  width: Int,
  height: Int,
  dtype: z.enum(['uint8', 'uint16', 'float32']),
  format: z.enum(['tiff', 'png', 'jpeg']),
  /** Native pixel size; the pixel size of level L is this / 2^(L - nativeLevel). */
  pixelSize: PixelSizeSchema.optional(),
  /** The normalisation used by every tile: low -> 0 (PNG black), high -> 1 (PNG white). */
  percentiles: z.object({ low: z.number(), high: z.number(), sampled: z.boolean(), pcts: z.tuple([z.number(), z.number()]) }),
  /**
   * Default display limits: the same percentiles of the pixels below the dtype's maximum (saturated pixels
   * left out, so a few thousand 65535s do not wash the image out). Equal to `percentiles` for float32.
   */
  displayRange: z.object({ low: z.number(), high: z.number() }),
  warnings: z.array(z.string()),
  tileSize: Int,
  nativeLevel: Int,
  maxLevel: Int,
  levels: z.array(PyramidLevelSchema),
  /** REST deep-zoom descriptor and DZI XML of the SR layer (the bicubic one is at bicubic.dzi). */
  descriptorUrl: z.string(),
  dziUrl: z.string(),
});
export type ImageInfo = z.infer<typeof ImageInfoSchema>;

export const ModelInfoSchema = z.object({
  name: z.string(),
  scale: z.number(),
  sha256: z.string(),
  trained: z.boolean(),
  description: z.string(),
});

// ---- client -> server ----

export const ClientHello = z.object({ type: z.literal('hello'), version: z.number().int(), client: z.string().max(200).optional() });
/** Open an image already known to the server (imageId) or a server-side file inside an allowed folder. */
export const OpenImage = z
  .object({ type: z.literal('open-image'), id: RequestId, path: z.string().min(1).max(4096).optional(), imageId: ImageId.optional() })
  .refine((m) => (m.path === undefined) !== (m.imageId === undefined), 'exactly one of path and imageId');
/** Upload an image to open: upload-begin, then binary uploadChunk frames (requestId = id), then upload-end. */
export const UploadBegin = z.object({ type: z.literal('upload-begin'), id: RequestId, name: Name, bytes: z.number().int().positive() });
export const UploadEnd = z.object({ type: z.literal('upload-end'), id: RequestId });
export const CloseImage = z.object({ type: z.literal('close-image'), imageId: ImageId });
export const TileRequestSchema = z.object({
  id: RequestId,
  imageId: ImageId,
  level: Int.max(64),
  x: Int,
  y: Int,
  layer: z.enum(LAYERS).default('sr'),
  encoding: z.enum(ENCODINGS).default('png'),
  /** visible: in the viewport now (served first); prefetch: around it. Newest first within each. */
  priority: z.enum(['visible', 'prefetch']).default('visible'),
});
export type TileRequest = z.infer<typeof TileRequestSchema>;
export const MAX_TILES_PER_MESSAGE = 256;
export const RequestTiles = z.object({ type: z.literal('tiles'), requests: z.array(TileRequestSchema).min(1).max(MAX_TILES_PER_MESSAGE) });
/** Cancel some requests (tiles, uploads, batch jobs) or all of this connection's. */
export const Cancel = z
  .object({ type: z.literal('cancel'), ids: z.array(RequestId).max(4096).optional(), all: z.boolean().optional() })
  .refine((m) => m.all === true || (m.ids?.length ?? 0) > 0, 'ids or all: true');
/** The tiles now in view (inclusive tile indices at `level`): queued tiles of this image outside it are dropped. */
export const Viewport = z.object({ type: z.literal('viewport'), imageId: ImageId, level: Int.max(64), x0: Int, y0: Int, x1: Int, y1: Int });
export const StatusRequest = z.object({ type: z.literal('status') });
/**
 * Batch super-resolution of a whole image: batch-begin, binary uploadChunk frames (requestId = id), batch-end.
 * The server answers with progress events, then batch-result, resultChunk frames, batch-done (or an error).
 */
export const BatchBegin = z.object({
  type: z.literal('batch-begin'),
  id: RequestId,
  name: Name,
  bytes: z.number().int().positive(),
  scale: z.union([z.literal(2), z.literal(4), z.literal(8)]),
  model: z.string().max(4096).optional(),
  /** Raw float32 output instead of the input's dtype. */
  float32: z.boolean().optional(),
  /** Input pixel size in µm, overriding (or supplying) the file's own. */
  pixelSizeUm: z.number().positive().optional(),
});
export const BatchEnd = z.object({ type: z.literal('batch-end'), id: RequestId });
/**
 * Super-resolution of a region (native pixels) of an open image, on the server: no upload. The output equals
 * the same region of the whole image's (`phasesr sr`: the image's own percentiles, real context around the
 * region). Answered as batch-end is: progress, batch-result, resultChunk frames, batch-done (or an error).
 */
export const ExportRegion = z.object({
  type: z.literal('export-region'),
  id: RequestId,
  imageId: ImageId,
  x: Int,
  y: Int,
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  scale: z.union([z.literal(2), z.literal(4), z.literal(8)]),
  /** Raw float32 output instead of the image's dtype. */
  float32: z.boolean().optional(),
});

export const ClientMessageSchema = z.union([
  ClientHello,
  OpenImage,
  UploadBegin,
  UploadEnd,
  CloseImage,
  RequestTiles,
  Cancel,
  Viewport,
  StatusRequest,
  BatchBegin,
  BatchEnd,
  ExportRegion,
]);
export type ClientMessage = z.infer<typeof ClientMessageSchema>;
export const CLIENT_MESSAGE_SCHEMAS = {
  hello: ClientHello,
  'open-image': OpenImage,
  'upload-begin': UploadBegin,
  'upload-end': UploadEnd,
  'close-image': CloseImage,
  tiles: RequestTiles,
  cancel: Cancel,
  viewport: Viewport,
  status: StatusRequest,
  'batch-begin': BatchBegin,
  'batch-end': BatchEnd,
  'export-region': ExportRegion,
} as const;
export type ClientMessageType = keyof typeof CLIENT_MESSAGE_SCHEMAS;
export type ClientMessageOf<T extends ClientMessageType> = z.infer<(typeof CLIENT_MESSAGE_SCHEMAS)[T]>;

// ---- server -> client ----

export const ServerLimitsSchema = z.object({
  maxPayloadBytes: Int,
  maxUploadBytes: Int,
  maxImagePixels: Int,
  maxQueuedPerConnection: Int,
  chunkBytes: Int,
});
export const ServerHello = z.object({
  type: z.literal('hello'),
  version: z.number().int(),
  server: z.string(),
  model: ModelInfoSchema,
  tileSize: Int,
  limits: ServerLimitsSchema,
});
export const ImageOpened = z.object({ type: z.literal('image-opened'), id: RequestId, image: ImageInfoSchema });
export const ImageClosed = z.object({ type: z.literal('image-closed'), imageId: ImageId });
/** Long work (upload hashing/decoding, batch tiles): done of total units of `stage`. */
export const Progress = z.object({
  type: z.literal('progress'),
  id: RequestId,
  stage: z.enum(['upload', 'open', 'normalise', 'inference', 'result']),
  done: Int,
  total: Int,
});
export const Status = z.object({
  type: z.literal('status'),
  queued: Int,
  running: Int,
  engineCalls: Int,
  tilesComputed: Int,
  cacheHits: Int,
  connections: Int,
  openImages: Int,
});
export const Cancelled = z.object({
  type: z.literal('cancelled'),
  ids: z.array(RequestId),
  reason: z.enum(['client', 'viewport', 'closed']),
});
export const ErrorCodeSchema = z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]);
/** An error; `id` names the request it answers (absent for connection-level errors like a malformed message). */
export const ErrorMessage = z.object({ type: z.literal('error'), id: RequestId.optional(), code: ErrorCodeSchema, message: z.string() });
/** The batch output follows as resultChunk frames (requestId = id) of at most limits.chunkBytes each. */
export const BatchResult = z.object({
  type: z.literal('batch-result'),
  id: RequestId,
  name: z.string(),
  bytes: Int,
  width: Int,
  height: Int,
  dtype: z.enum(['uint8', 'uint16', 'float32']),
  pixelSize: PixelSizeSchema.optional(),
  ms: z.number(),
  /** What the input needed (colour converted to grey, ...), as `phasesr sr` prints it; absent: nothing. */
  warnings: z.array(z.string()).optional(),
});
export const BatchDone = z.object({ type: z.literal('batch-done'), id: RequestId, sha256: z.string() });

export const ServerMessageSchema = z.union([
  ServerHello,
  ImageOpened,
  ImageClosed,
  Progress,
  Status,
  Cancelled,
  ErrorMessage,
  BatchResult,
  BatchDone,
]);
export type ServerMessage = z.infer<typeof ServerMessageSchema>;
export type ServerMessageOf<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;

/** Why a message was refused: `code` is SR_ERR_BAD_MESSAGE or SR_ERR_UNKNOWN_TYPE. */
export class MessageError extends Error {
  constructor(
    readonly code: 'SR_ERR_BAD_MESSAGE' | 'SR_ERR_UNKNOWN_TYPE',
    message: string,
    readonly id?: number,
  ) {
    super(message);
  }
}

/** Parses and validates a client message. @throws MessageError (with the request id when one could be read). */
export function parseClientMessage(text: string): ClientMessage {
  const raw = parseJsonObject(text);
  const type = raw.type;
  const id = typeof raw.id === 'number' ? raw.id : undefined;
  if (typeof type !== 'string' || !Object.hasOwn(CLIENT_MESSAGE_SCHEMAS, type)) {
    throw new MessageError('SR_ERR_UNKNOWN_TYPE', `unknown message type ${JSON.stringify(type)}`, id);
  }
  const r = CLIENT_MESSAGE_SCHEMAS[type as ClientMessageType].safeParse(raw);
  if (!r.success) throw new MessageError('SR_ERR_BAD_MESSAGE', `${type}: ${describeIssues(r.error)}`, id);
  return r.data as ClientMessage;
}

/** Parses and validates a server message (for clients). @throws MessageError */
export function parseServerMessage(text: string): ServerMessage {
  const raw = parseJsonObject(text);
  const r = ServerMessageSchema.safeParse(raw);
  if (!r.success)
    throw new MessageError(typeof raw.type === 'string' ? 'SR_ERR_BAD_MESSAGE' : 'SR_ERR_UNKNOWN_TYPE', describeIssues(r.error));
  return r.data;
}

export function isClientMessage<T extends ClientMessageType>(m: ClientMessage, type: T): m is ClientMessageOf<T> {
  return m.type === type;
}

function parseJsonObject(text: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new MessageError('SR_ERR_BAD_MESSAGE', 'message is not valid JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new MessageError('SR_ERR_BAD_MESSAGE', 'message must be a JSON object');
  return raw as Record<string, unknown>;
}

function describeIssues(e: z.ZodError): string {
  return e.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`)
    .join('; ');
}
