// A progress bar on an interactive terminal (stderr), nothing otherwise: logs and CI stay clean.
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total: number): void;
  /** Prints a line above the bar without garbling it. */
  interrupt(line: string): void;
  stop(): void;
}

export function progressBar(unit: string): Progress | undefined {
  if (!process.stderr.isTTY) return undefined;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `{bar} {percentage}% | {value}/{total} ${unit} | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) bar.start(total, done);
      else bar.update(done);
      started = true;
    },
    interrupt(line) {
      if (started) bar.stop();
      process.stderr.write(`${line}\n`);
      started = false;
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
