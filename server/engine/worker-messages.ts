// Messages between the server and its engine worker thread.
import type { EngineChoice, EngineName, GpuAdapter, LevelBatch, Rect } from '../../models';

export interface WorkerData {
  model: string;
  engine?: EngineChoice;
  threads?: number;
}

export type WorkerRequest =
  | { type: 'run'; id: number; input: Float32Array; n: number; height: number; width: number; need?: Rect | undefined }
  | { type: 'dispose' };

export type WorkerReply =
  | { type: 'ready'; engine: EngineName; threads: number; adapter?: GpuAdapter | undefined }
  | { type: 'failed'; message: string; code?: string | undefined }
  | { type: 'log'; line: string }
  | { type: 'result'; id: number; levels: LevelBatch[] }
  | { type: 'error'; id: number; message: string; code?: string | undefined }
  | { type: 'disposed' };
