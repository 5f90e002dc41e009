// Gradient workers: N worker threads, or the calling thread itself when N = 1 (and for tfjs-node,
// which already uses every core). Each gets an equal slice of the batch; the trainer averages.
import { Worker } from 'node:worker_threads';
import type { ModelConfig } from '../config';
import { GradientComputer, type GeneratorTerms, type GradientResult, type ParamValues } from './gradients';

export interface WorkerRequest {
  kind: 'd' | 'g';
  params: ParamValues;
  hr: Float32Array;
  /** The LR of each HR crop, side size / scale. */
  lr: Float32Array;
  n: number;
  size: number;
  terms?: GeneratorTerms;
}

interface GradientRunner {
  run(req: WorkerRequest): Promise<GradientResult>;
  close(): Promise<void>;
}

class InProcess implements GradientRunner {
  constructor(private gc: GradientComputer) {}
  async run(req: WorkerRequest): Promise<GradientResult> {
    this.gc.setParams(req.params);
    return req.kind === 'd'
      ? this.gc.discriminator(req.hr, req.lr, req.n, req.size)
      : this.gc.generator(req.hr, req.lr, req.n, req.size, req.terms!);
  }
  async close(): Promise<void> {
    this.gc.dispose();
  }
}

class Threaded implements GradientRunner {
  #pending: { resolve: (r: GradientResult) => void; reject: (e: Error) => void } | undefined;
  constructor(private w: Worker) {
    w.on('message', (m: { ok: boolean; result?: GradientResult; error?: string }) => {
      const p = this.#pending;
      this.#pending = undefined;
      if (m.ok) p?.resolve(m.result!);
      else p?.reject(new Error(`gradient worker: ${m.error}`));
    });
    w.on('error', (e) => {
      this.#pending?.reject(e);
      this.#pending = undefined;
    });
  }
  static async start(config: ModelConfig, prefer: 'best' | 'wasm' | 'cpu'): Promise<{ runner: Threaded; flavour: string }> {
    const w = new Worker(new URL('./grad-worker.mjs', import.meta.url), { workerData: { config, prefer } });
    const flavour = await new Promise<string>((resolve, reject) => {
      w.once('message', (m: { ready?: boolean; flavour: string }) =>
        m.ready ? resolve(m.flavour) : reject(new Error('gradient worker did not start')),
      );
      w.once('error', reject);
    });
    return { runner: new Threaded(w), flavour };
  }
  run(req: WorkerRequest): Promise<GradientResult> {
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.w.postMessage(req);
    });
  }
  async close(): Promise<void> {
    await this.w.terminate();
  }
}

export class WorkerPool {
  private constructor(
    private runners: GradientRunner[],
    readonly flavour: string,
  ) {}

  get size(): number {
    return this.runners.length;
  }

  static async create(config: ModelConfig, workers: number, prefer: 'best' | 'wasm' | 'cpu' = 'best'): Promise<WorkerPool> {
    if (workers <= 1) {
      const gc = await GradientComputer.create(config, prefer);
      return new WorkerPool([new InProcess(gc)], gc.flavour);
    }
    const started = await Promise.all(Array.from({ length: workers }, () => Threaded.start(config, prefer)));
    return new WorkerPool(
      started.map((s) => s.runner),
      started[0]!.flavour,
    );
  }

  /**
   * Splits the batch (`hr` [n, size, size, 1] and its `lr`) into equal slices, one per worker, and returns
   * each worker's result (n must be a multiple of the pool size).
   */
  async run(
    kind: 'd' | 'g',
    params: ParamValues,
    hr: Float32Array,
    lr: Float32Array,
    n: number,
    size: number,
    terms?: GeneratorTerms,
  ): Promise<GradientResult[]> {
    const k = this.runners.length;
    if (n % k !== 0) throw new Error(`batch ${n} does not split over ${k} workers`);
    const per = n / k;
    const px = (hr.length / n) * per;
    const lpx = (lr.length / n) * per;
    return Promise.all(
      this.runners.map((r, i) =>
        r.run({
          kind,
          params,
          hr: hr.slice(i * px, (i + 1) * px),
          lr: lr.slice(i * lpx, (i + 1) * lpx),
          n: per,
          size,
          ...(terms ? { terms } : {}),
        }),
      ),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.close()));
  }
}
