// The engine of a pure front end (`serve --redis --no-local-engine`): it knows the model (halo, scale,
// sha256 for job keys) and runs nothing itself. Tiles go to the workers block by block; the whole-image
// batch API (/api/v1/sr, batch-begin, export-region) calls this engine, and each of its calls becomes one
// job on the shared queue that a worker runs on its own engine (the pixels pass through the shared folder).
import type { EngineName, LevelBatch, ModelConfig, Rect, SuperResBackend } from '../../models';

/** Where an engine call goes: RedisBlockQueue.engineCall. */
export interface EngineCalls {
  engineCall(input: Float32Array, n: number, height: number, width: number, need?: Rect): Promise<LevelBatch[]>;
}

export class RemoteEngine implements SuperResBackend {
  readonly engine: EngineName = 'ort-cpu';
  readonly threads = 0;

  constructor(
    readonly config: ModelConfig,
    private readonly calls: EngineCalls,
  ) {}

  run(input: Float32Array, n: number, height: number, width: number, need?: Rect): Promise<LevelBatch[]> {
    return this.calls.engineCall(input, n, height, width, need);
  }

  async dispose(): Promise<void> {}
}
