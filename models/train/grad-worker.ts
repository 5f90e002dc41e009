// A worker thread that computes gradients for its slice of each batch (data parallel training): the
// wasm backend runs one thread per process, so two workers use both cores (1.7x, ENGINE-NOTES).
import { parentPort, workerData } from 'node:worker_threads';
import type { ModelConfig } from '../config';
import { GradientComputer } from './gradients';
import type { WorkerRequest } from './worker-pool';

const { config, prefer } = workerData as { config: ModelConfig; prefer: 'best' | 'wasm' | 'cpu' };
const gc = await GradientComputer.create(config, prefer);
const port = parentPort!;
port.on('message', (req: WorkerRequest) => {
  try {
    gc.setParams(req.params);
    const r =
      req.kind === 'd' ? gc.discriminator(req.hr, req.lr, req.n, req.size) : gc.generator(req.hr, req.lr, req.n, req.size, req.terms!);
    port.postMessage({ ok: true, result: r });
  } catch (e) {
    port.postMessage({ ok: false, error: (e as Error).message });
  }
});
port.postMessage({ ready: true, flavour: gc.flavour });
