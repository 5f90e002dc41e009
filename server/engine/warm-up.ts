// The engine's first run at server start: onnxruntime's first run of a fresh session on a window shape costs
// about 0.5 s more than the next ones (measured: a fresh server's first cold 8x viewport had its first tile
// in 523 ms, the next ones in 135-155 ms), so the server pays it on zero blocks before any tile asks.
// The runs are handed to the engine at once, before the server listens: a request that arrives meanwhile
// queues behind them in the engine's worker, and /health never waits for them.
import type { SuperResBackend } from '../../models';

export interface WarmUpReport {
  /** off: no local engine (a --redis front end); failed: a run threw (the server still serves). */
  state: 'off' | 'running' | 'done' | 'failed';
  /** The LR window sides run, one zero block each (block size + 2 halo per block size served; the merged window). */
  windows: number[];
  /** Runs finished so far. */
  runs: number;
  /** From the start of the warm-up to its last run's end (0 until done). */
  ms: number;
  error?: string;
}

export class WarmUp {
  readonly report: WarmUpReport;

  private constructor(windows: number[]) {
    this.report = { state: windows.length ? 'running' : 'off', windows, runs: 0, ms: 0 };
  }

  /** Hands one zero block per window side to `engine` now, and tracks the runs. */
  static start(engine: SuperResBackend, windows: number[], log: (line: string) => void): WarmUp {
    const w = new WarmUp(windows);
    if (!windows.length) return w;
    const t0 = performance.now();
    const runs = windows.map((s) =>
      engine.run(new Float32Array(s * s), 1, s, s).then(() => {
        w.report.runs++;
      }),
    );
    void Promise.all(runs).then(
      () => {
        w.report.state = 'done';
        w.report.ms = Math.round(performance.now() - t0);
        log(`engine warm-up: windows ${windows.join(', ')} in ${w.report.ms} ms`);
      },
      (e: unknown) => {
        w.report.state = 'failed';
        w.report.error = (e as Error)?.message ?? String(e);
        log(`engine warm-up failed: ${w.report.error}`);
      },
    );
    return w;
  }
}

/**
 * The window sides a server's engine sees: its block size and, when on, its first-block size (each + 2 halo);
 * with spatial merging, last, a square as large as its largest merged window (a row of mergeBlocks blocks).
 * onnxruntime's first run on a window larger than any before costs several times a later one (measured, lite
 * int8: a 272x208 window 5.5 s at first, 1.2 s after; other shapes of no more pixels then ran at the later
 * rate): its memory arena grows once, so one run at the largest size serves every merged shape.
 */
export function warmUpWindows(blockSize: number, firstBlockSize: number, halo: number, mergeBlocks = 1): number[] {
  const sizes = firstBlockSize > 0 && firstBlockSize < blockSize ? [blockSize, firstBlockSize] : [blockSize];
  const sides = sizes.map((s) => s + 2 * halo);
  if (mergeBlocks > 1) sides.push(Math.ceil(Math.sqrt((mergeBlocks * blockSize + 2 * halo) * (blockSize + 2 * halo))));
  return sides;
}
