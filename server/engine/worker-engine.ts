// A SuperResBackend whose engine runs in a worker thread, so inference never blocks the server's event
// loop (sockets, cancels and cached tiles stay responsive while a batch runs). Inputs and outputs are
// transferred, not copied. A worker that dies fails its pending calls; the next call starts a new one.
import { Worker } from 'node:worker_threads';

import type { EngineName, GpuAdapter, LevelBatch, ModelConfig, Rect, SuperResBackend } from '../../models';
import { ServerError } from '../errors';
import { BusyClock } from './busy-clock';
import type { WorkerData, WorkerReply, WorkerRequest } from './worker-messages';

const ENTRY = new URL('./engine-worker.js', import.meta.url);

interface Call {
  resolve: (levels: LevelBatch[]) => void;
  reject: (e: unknown) => void;
}

export class WorkerEngine implements SuperResBackend {
  #worker: Worker | undefined;
  #engine: EngineName = 'ort-cpu';
  #threads = 1;
  #adapter: GpuAdapter | undefined;
  #nextId = 1;
  #runs = 0;
  readonly #calls = new Map<number, Call>();
  #disposed = false;
  readonly #busy = new BusyClock();

  private constructor(
    readonly config: ModelConfig,
    private readonly data: WorkerData,
    private readonly log: (line: string) => void,
  ) {}

  /** Starts the worker and waits until its engine is ready. @throws the engine's or model's error */
  static async create(config: ModelConfig, data: WorkerData, log: (line: string) => void): Promise<WorkerEngine> {
    const e = new WorkerEngine(config, data, log);
    await e.#start();
    return e;
  }

  get engine(): EngineName {
    return this.#engine;
  }

  get threads(): number {
    return this.#threads;
  }

  get adapter(): GpuAdapter | undefined {
    return this.#adapter;
  }

  /** Runs handed to the worker so far; its thread runs them in this order (a run blocks it until done). */
  get runs(): number {
    return this.#runs;
  }

  /** Wall time with a call in flight (calls run one at a time in the engine thread; queued ones count once). */
  get busyMs(): number {
    return this.#busy.ms;
  }

  async run(input: Float32Array, n: number, height: number, width: number, need?: Rect): Promise<LevelBatch[]> {
    if (this.#disposed) throw new ServerError('SR_ERR_INTERNAL', 'engine disposed');
    if (!this.#worker) await this.#start();
    const id = this.#nextId++;
    return this.#busy.time(
      () =>
        new Promise<LevelBatch[]>((resolve, reject) => {
          this.#calls.set(id, { resolve, reject });
          const msg: WorkerRequest = { type: 'run', id, input, n, height, width, need };
          this.#worker!.postMessage(msg, [input.buffer as ArrayBuffer]);
          this.#runs++;
        }),
    );
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const w = this.#worker;
    if (!w) return;
    await new Promise<void>((resolve) => {
      // The worker answers once its running calls have ended and the engine is released. Terminating it
      // while a call runs natively aborts the process, so a pending call gets the longest run's time.
      const timer = setTimeout(resolve, this.#calls.size > 0 ? 120_000 : 5000);
      w.on('message', (m: WorkerReply) => {
        if (m.type === 'disposed') {
          clearTimeout(timer);
          resolve();
        }
      });
      w.postMessage({ type: 'dispose' } satisfies WorkerRequest);
    });
    await w.terminate();
  }

  #start(): Promise<void> {
    const w = new Worker(ENTRY, { workerData: this.data });
    this.#worker = w;
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      w.on('message', (m: WorkerReply) => {
        if (m.type === 'ready') {
          ready = true;
          this.#engine = m.engine;
          this.#threads = m.threads;
          this.#adapter = m.adapter;
          resolve();
        } else if (m.type === 'failed') {
          reject(Object.assign(new Error(m.message), { code: m.code }));
        } else if (m.type === 'log') {
          this.log(m.line);
        } else if (m.type === 'result' || m.type === 'error') {
          const call = this.#calls.get(m.id);
          this.#calls.delete(m.id);
          if (m.type === 'result') call?.resolve(m.levels);
          else
            call?.reject(Object.assign(new ServerError('SR_ERR_INTERNAL', `engine: ${m.message}`), m.code ? { engineCode: m.code } : {}));
        }
      });
      const died = (why: string): void => {
        if (this.#worker === w) this.#worker = undefined;
        if (!ready) reject(new ServerError('SR_ERR_INTERNAL', `engine worker ${why}`));
        for (const c of this.#calls.values()) c.reject(new ServerError('SR_ERR_INTERNAL', `engine worker ${why}`));
        this.#calls.clear();
      };
      w.on('error', (e) => {
        this.log(`engine worker error: ${e.stack ?? e.message}`);
        died(`failed: ${e.message}`);
      });
      w.on('exit', (code) => {
        if (!this.#disposed) died(`exited with code ${code}`);
      });
    });
  }
}
