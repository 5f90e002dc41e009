// Chooses and starts the engine, explicitly: ORT CPU by default, ORT CUDA when asked for (an error if it
// cannot start), tfjs (tfjs-node-gpu / tfjs-node when installed, else wasm) when asked for.
import type { ModelConfig } from '../config';
import type { Weights } from '../params';
import type { EngineChoice, SuperResBackend } from './backend';
import { OrtBackend } from './ort-backend';
import { TfjsBackend } from './tfjs-backend';

export interface EngineOptions {
  engine?: EngineChoice;
  threads?: number;
  /** Where the choice is reported (stderr by default). */
  log?: (line: string) => void;
}

export async function createEngine(config: ModelConfig, weights: Weights, opts: EngineOptions = {}): Promise<SuperResBackend> {
  const choice = opts.engine ?? 'ort-cpu';
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const backend =
    choice === 'tfjs'
      ? await TfjsBackend.create(config, weights, 'best')
      : await OrtBackend.create(config, weights, { engine: choice, ...(opts.threads ? { threads: opts.threads } : {}) });
  log(`engine: ${backend.engine}, ${backend.threads} thread(s)${opts.engine ? '' : ' (default)'}`);
  return backend;
}
