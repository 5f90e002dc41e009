// The engine of a pure front end (`serve --redis --no-local-engine`): it knows the model (halo, scale,
// sha256 for job keys) but runs nothing; tiles go to the workers. Only the whole-image batch API
// (/api/v1/sr, batch-begin) would call it, and gets a clear coded error.
import type { EngineName, LevelBatch, ModelConfig, SuperResBackend } from '../../models';
import { ServerError } from '../errors';

export class NoLocalEngine implements SuperResBackend {
  readonly engine: EngineName = 'ort-cpu';
  readonly threads = 0;

  constructor(readonly config: ModelConfig) {}

  run(_input: Float32Array, _n: number, _height: number, _width: number): Promise<LevelBatch[]> {
    return Promise.reject(new ServerError('SR_ERR_USAGE', 'this server runs no engine (--no-local-engine): tiles go to the workers, but the batch API needs a server with a local engine'));
  }

  async dispose(): Promise<void> {}
}
