// Every server option with its default in one place; createServer merges {...SERVER_DEFAULTS, ...opts}.
import { DEFAULT_MODEL } from '../models';

import type { EngineChoice } from '../models';

export interface ServerOptions {
  port: number;
  /** 127.0.0.1 by default; any other address requires the token. */
  host: string;
  /** lite, paper, or a model directory. */
  model: string;
  engine?: EngineChoice;
  threads?: number;
  /** Optional disk cache of computed tiles (keyed by image hash, model hash and tile address). */
  cacheDir?: string;
  /** Folders whose files may be opened by server-side path, besides the exchange folder. */
  allowDirs: string[];
  /**
   * The private folder (the server user's alone) where local clients such as the Fiji bridge put files to
   * open by path; GET /api/v1/folders names it. Default: a fresh phasesr-exchange-* in the OS temp folder,
   * removed at close.
   */
  exchangeDir?: string;
  /** Origins allowed to read the OME-Zarr view (/zarr/) from their pages (CORS); exact scheme://host[:port]. */
  corsOrigins: string[];
  /** Access token: undefined = generated when the host is not loopback; '' = none (loopback only). */
  token?: string;
  /** Where uploads are stored while open (default: a fresh folder in the OS temp folder). */
  uploadDir?: string;
  /** Images opened at start and never closed (e.g. the sample). */
  images: string[];
  /** Bytes of encoded tiles kept in memory. */
  memoryCacheBytes: number;
  /** Bytes of float tiles (siblings of computed tiles, not yet encoded) kept in memory. */
  floatCacheBytes: number;
  /** Largest WebSocket message (ws maxPayload). */
  maxPayloadBytes: number;
  /** Bytes per upload/result chunk the server advertises and sends. */
  chunkBytes: number;
  maxUploadBytes: number;
  maxImagePixels: number;
  /** Uploads in progress (open files) per client (a WebSocket connection, or an HTTP peer address) before SR_ERR_TOO_MANY. */
  maxUploadsPerClient: number;
  /** Uploads in progress on the whole server before SR_ERR_TOO_MANY (keeps file handles for everyone else). */
  maxUploads: number;
  /** Images one WebSocket connection may hold open before SR_ERR_TOO_MANY. */
  maxImagesPerClient: number;
  /** Images open on the whole server; past it the least recently used idle REST image is closed, else SR_ERR_TOO_MANY. */
  maxOpenImages: number;
  /** An image opened over REST (no WebSocket holds it) closes after this long without a request. */
  imageIdleMs: number;
  /** Bytes sent to one connection and not yet read by its client before tiles get SR_ERR_SLOW_CLIENT. */
  maxQueuedBytesPerConnection: number;
  /** Tile requests queued per connection before SR_ERR_BUSY. */
  maxQueuedPerConnection: number;
  /** Inference jobs queued in total before SR_ERR_BUSY. */
  maxQueued: number;
  /**
   * Most LR blocks per engine call (micro-batching). 1 on CPU: onnxruntime's CPU time per block is the
   * same at batch 1 and 8 (docs/benchmarks/engine.md) while its memory grows with the batch (an 80x80
   * window: ~0.26 GB at 1, ~1.3 GB at 4). 1 on a GPU too: on an H200 the server's cold viewport took
   * 145 ms at batch 1 and 134-143 ms at 2-8 (docs/gpu.md), within noise.
   */
  batch: number;
  /**
   * LR pixels per inference block side: 32, 64 or 128. Smaller blocks give the first tile sooner and
   * need less engine memory (the 8x feature maps of one 64 + 2x8 halo window are ~50 MB each, of a
   * 128 one ~170 MB), at more halo overhead per pixel ((64+16)^2/64^2 = 1.56 vs 1.27).
   */
  blockSize: number;
  /**
   * LR pixels per side of the first blocks of a cold view (0: off; at or above blockSize: off). The first
   * visible tile requested while the engine is idle is computed alone from blocks this small (a 32 block costs
   * about half a 64 one). The rest of its region still comes from its serving block, which recomputes the
   * first tile's share: that keeps the view's blocks one rectangle for mergeBlocks (docs/benchmarks/server-cold.md).
   */
  firstBlockSize: number;
  /**
   * Most queued serving blocks run as ONE engine call (1: off). When the engine takes a block, it also takes
   * the queued, still-wanted blocks of the same image that complete a rectangle with it (along the row, then
   * whole rows) and runs the rectangle plus one halo: the halo overlap between neighbours is computed once
   * (12 blocks of 64 as 12 windows of 96^2 cost 2.4x the FLOPs of one 288x224 window). The model is
   * tiling-invariant, so every block's pixels are the same. First blocks of cold views still run alone.
   * N counts serving blocks' area: a view's edge tiles whose serving block sticks out of the view come as
   * blocks of their own size (TileService) and join the rectangle as strips. Memory grows with the window: 12 blocks of 64 need ~7x one block's engine memory.
   */
  mergeBlocks: number;
  /** redis://host:port: share block work and tiles with other servers and workers (server/scale/). */
  redis?: string;
  /** With redis: the folder every server and worker sees (images, uploads, percentiles, tile cache). */
  sharedDir?: string;
  /** With redis: also work the shared queue with this process's engine (false: a pure front end). */
  localEngine: boolean;
  /** With redis: a job whose worker went silent this long goes to another worker (BullMQ lockDuration). */
  lockMs: number;
  /** With redis: how long work waits while no worker is alive before it fails SR_ERR_NO_WORKER (0: at once). */
  workerWaitMs: number;
  log: (line: string) => void;
}

/** Block sides the tile grid allows: each divides the LR span of a 2x tile (128) and holds whole 8x tiles (32). */
export const BLOCK_SIZES = [32, 64, 128] as const;

export const SERVER_DEFAULTS: ServerOptions = {
  port: 8080,
  host: '127.0.0.1',
  model: DEFAULT_MODEL,
  allowDirs: [],
  corsOrigins: [],
  images: [],
  memoryCacheBytes: 256 << 20,
  floatCacheBytes: 256 << 20,
  maxPayloadBytes: 8 << 20,
  chunkBytes: 4 << 20,
  maxUploadBytes: 4 * 1024 ** 3,
  maxImagePixels: 2 ** 32,
  maxUploadsPerClient: 8,
  maxUploads: 64,
  maxImagesPerClient: 16,
  maxOpenImages: 64,
  imageIdleMs: 10 * 60_000,
  maxQueuedBytesPerConnection: 64 << 20,
  maxQueuedPerConnection: 1024,
  maxQueued: 4096,
  batch: 1,
  blockSize: 64,
  firstBlockSize: 32,
  mergeBlocks: 12,
  localEngine: true,
  lockMs: 30_000,
  workerWaitMs: 10_000,
  log: (line) => process.stderr.write(`${line}\n`),
};

/** Addresses that only this machine can reach: no token needed there. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
