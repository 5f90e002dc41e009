// Picks the tfjs backend: tfjs-node-gpu, then tfjs-node (both optional native packages that do not
// install on every machine), then the wasm backend that always works. Never requires the native ones.
import * as tf from '@tensorflow/tfjs';

export type TfjsFlavour = 'tfjs-node-gpu' | 'tfjs-node' | 'tfjs-wasm' | 'tfjs-cpu';

export interface TfjsRuntime {
  flavour: TfjsFlavour;
  backend: string;
  /** What was tried and why it was not used, for `phasesr info` and logs. */
  notes: string[];
}

let current: Promise<TfjsRuntime> | undefined;

/** Whether an optional native tfjs package is installed (without loading it). */
export function tfjsNativeInstalled(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): boolean {
  try {
    import.meta.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/**
 * Initialises tfjs once per process. `prefer: 'wasm'` skips the native packages (tests, and the
 * reference forward pass, want the same backend everywhere).
 */
export function initTfjs(prefer: 'best' | 'wasm' | 'cpu' = 'best'): Promise<TfjsRuntime> {
  current ??= pick(prefer);
  return current;
}

async function pick(prefer: 'best' | 'wasm' | 'cpu'): Promise<TfjsRuntime> {
  const notes: string[] = [];
  if (prefer === 'best') {
    for (const [pkg, flavour] of [
      ['@tensorflow/tfjs-node-gpu', 'tfjs-node-gpu'],
      ['@tensorflow/tfjs-node', 'tfjs-node'],
    ] as const) {
      try {
        await import(pkg);
        if (await tf.setBackend('tensorflow')) return { flavour, backend: 'tensorflow', notes };
        notes.push(`${pkg} loaded but its backend did not initialise`);
      } catch (e) {
        notes.push(`${pkg} not available (${(e as NodeJS.ErrnoException).code ?? (e as Error).message.split('\n')[0]})`);
      }
    }
  }
  if (prefer !== 'cpu') {
    try {
      await import('@tensorflow/tfjs-backend-wasm');
      if (await tf.setBackend('wasm')) return { flavour: 'tfjs-wasm', backend: 'wasm', notes };
    } catch (e) {
      notes.push(`tfjs wasm backend failed: ${(e as Error).message}`);
    }
  }
  await tf.setBackend('cpu');
  return { flavour: 'tfjs-cpu', backend: 'cpu', notes };
}
