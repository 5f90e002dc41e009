// The engine the evaluation runs a model with: the default (int8 when the model is calibrated, else float32
// with a logged line) or the engine asked for. The scores and both figures take it from here, so a figure
// shows the output that was scored.
import type { EngineChoice, SuperResBackend } from '../engine/backend';
import { createEngine } from '../engine/create-engine';
import type { LoadedModel } from '../weights-file';

export interface EvalEngineOptions {
  engine?: EngineChoice;
  threads?: number;
  log?: (line: string) => void;
}

export function evalEngine(m: LoadedModel, o: EvalEngineOptions = {}): Promise<SuperResBackend> {
  return createEngine(m.config, m.weights, {
    int8: m.int8,
    ...(o.engine ? { engine: o.engine } : {}),
    ...(o.threads ? { threads: o.threads } : {}),
    log: o.log ?? (() => {}),
  });
}
