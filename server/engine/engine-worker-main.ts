// Inside the engine worker thread: loads the model, starts the engine and runs batches on request.
// onnxruntime-node's session.run blocks its thread for the whole call (measured: 0 timer ticks during an
// 8 s run), so the server keeps it here and its event loop stays free for sockets.
import { parentPort, workerData } from 'node:worker_threads';

import { createEngine, resolveModel } from '../../models';
import type { WorkerData, WorkerReply, WorkerRequest } from './worker-messages';

const port = parentPort!;
const data = workerData as WorkerData;
const log = (line: string): void => port.postMessage({ type: 'log', line } satisfies WorkerReply);

try {
  const model = await resolveModel(data.model);
  const engine = await createEngine(model.config, model.weights, {
    int8: model.int8,
    ...(data.engine ? { engine: data.engine } : {}),
    ...(data.threads ? { threads: data.threads } : {}),
    log,
  });
  // Runs still in flight: the session is released only after they end. onnxruntime-node finishes a run on
  // a native thread and throws a Napi::Error from there if its session was released meanwhile, which
  // aborts the whole process (SIGABRT) instead of failing one call.
  const running = new Set<Promise<unknown>>();
  let disposing = false;
  port.on('message', (m: WorkerRequest) => {
    if (m.type === 'dispose') {
      disposing = true;
      void Promise.allSettled([...running])
        .then(() => engine.dispose())
        .finally(() => port.postMessage({ type: 'disposed' } satisfies WorkerReply));
      return;
    }
    if (disposing) {
      port.postMessage({ type: 'error', id: m.id, message: 'engine disposed' } satisfies WorkerReply);
      return;
    }
    const run = engine.run(m.input, m.n, m.height, m.width, m.need).then(
      (levels) =>
        port.postMessage(
          { type: 'result', id: m.id, levels } satisfies WorkerReply,
          levels.map((l) => l.data.buffer as ArrayBuffer),
        ),
      (e: unknown) =>
        port.postMessage({
          type: 'error',
          id: m.id,
          message: (e as Error)?.message ?? String(e),
          code: (e as { code?: string })?.code,
        } satisfies WorkerReply),
    );
    running.add(run);
    void run.finally(() => running.delete(run));
  });
  port.postMessage({ type: 'ready', engine: engine.engine, threads: engine.threads, adapter: engine.adapter } satisfies WorkerReply);
} catch (e) {
  port.postMessage({
    type: 'failed',
    message: (e as Error)?.message ?? String(e),
    code: (e as { code?: string })?.code,
  } satisfies WorkerReply);
}
