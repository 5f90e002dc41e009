// Counters the server exposes on /health and in `status` messages (tests use engineCalls to check dedupe).
export class ServerStats {
  engineCalls = 0;
  /** LR blocks run through the model (one block serves 2x, 4x and 8x tiles). */
  blocksInferred = 0;
  /** Of those, blocks of the smaller first-block size (the first tiles of cold views, TileService). */
  firstBlocksInferred = 0;
  /** Engine calls that ran several adjacent queued blocks as one window (ServerOptions.mergeBlocks). */
  mergedCalls = 0;
  /** LR pixels fed to the engine over all its calls (windows, halos included): the inference work done. */
  windowPixels = 0;
  /** Of those, the LR pixels the x2 cascade ran on: each call's tile cores plus the cascade's margin (models/tiling.ts cascadeHalo). */
  cascadePixels = 0;
  tilesComputed = 0;
  cacheHits = 0;
  diskHits = 0;
  tilesSent = 0;
  errors = 0;
  /** Whole-image jobs computed (WebSocket batch and /api/v1/sr; an identical repeated request is not one more). */
  srJobs = 0;
  /** Images whose percentiles this server computed (0 when another server of a --redis group had). */
  percentilesComputed = 0;
}
