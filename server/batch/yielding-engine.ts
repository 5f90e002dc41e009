// The engine as whole-image jobs see it: every call first lets queued tile work go (the viewer is
// interactive, a batch is not), but waits at most `maxWaitMs`, so a busy viewer cannot starve a batch.
// The tile inference queue (server/tiles/inference-queue.ts) is typed for tile blocks and exposes only its
// counts, so the gate watches those; jobs call with one small window at a time (JOB_ENGINE_BATCH), which
// bounds how long a tile waits behind a batch call.
import { setTimeout as sleep } from 'node:timers/promises';

import type { LevelBatch, Rect, SuperResBackend } from '../../models';

export interface TileQueueLoad {
  readonly queued: number;
  readonly running: number;
}

/** How long a batch engine call defers to tile work at most. */
export const MAX_DEFER_MS = 250;
const POLL_MS = 2;

export function yieldingEngine(engine: SuperResBackend, tiles: TileQueueLoad, maxWaitMs = MAX_DEFER_MS): SuperResBackend {
  return {
    engine: engine.engine,
    config: engine.config,
    threads: engine.threads,
    async run(input: Float32Array, n: number, height: number, width: number, need?: Rect): Promise<LevelBatch[]> {
      const until = performance.now() + maxWaitMs;
      while ((tiles.queued > 0 || tiles.running > 0) && performance.now() < until) await sleep(POLL_MS);
      return engine.run(input, n, height, width, need);
    },
    // Shared: the server disposes the real engine.
    dispose: async () => undefined,
  };
}
