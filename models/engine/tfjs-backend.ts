// The tfjs engine: the reference forward pass of record, and a serving engine where tfjs-node-gpu is
// installed. Serving defaults to ONNX Runtime (ort-backend.ts), which is ~5x faster on CPU.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config';
import type { Weights } from '../params';
import { generatorForward, weightsToTensors } from '../tfjs/generator';
import type { Params } from '../tfjs/layers';
import { initTfjs } from '../tfjs/runtime';
import type { EngineName, LevelBatch, SuperResBackend } from './backend';

export class TfjsBackend implements SuperResBackend {
  readonly threads = 1;
  #params: Params;

  private constructor(
    readonly engine: EngineName,
    readonly config: ModelConfig,
    params: Params,
  ) {
    this.#params = params;
  }

  static async create(config: ModelConfig, weights: Weights, prefer: 'best' | 'wasm' = 'best'): Promise<TfjsBackend> {
    const rt = await initTfjs(prefer);
    return new TfjsBackend(rt.flavour, config, weightsToTensors(weights));
  }

  async run(input: Float32Array, n: number, height: number, width: number): Promise<LevelBatch[]> {
    const outs = tf.tidy(() => generatorForward(this.config, this.#params, tf.tensor4d(input, [n, height, width, 1])));
    try {
      return await Promise.all(
        outs.map(async (t) => ({
          scale: t.shape[1] / height,
          height: t.shape[1],
          width: t.shape[2],
          data: (await t.data()) as Float32Array,
        })),
      );
    } finally {
      tf.dispose(outs);
    }
  }

  async dispose(): Promise<void> {
    tf.dispose([...this.#params.values()]);
  }
}
