// `phasesr worker`: keeps the model loaded and takes LR-block jobs from the shared Redis queue that
// `phasesr serve --redis` servers fill, writing the tiles into the shared folder's cache (docs/deploy.md).
import { Command } from 'commander';
import type { EngineChoice } from '../../models/engine/backend';
import { DEFAULT_MODEL } from '../../models/registry';
import { engineOption } from '../engine-option';
import { intOption, UsageError } from '../fail';

interface WorkerCliOptions {
  redis: string;
  sharedDir: string;
  model: string;
  engine?: EngineChoice;
  threads?: number;
  concurrency?: number;
  lockMs: number;
  name?: string;
}

export function workerCommand(): Command {
  return new Command('worker')
    .description('run model inference for `phasesr serve --redis` servers: take block jobs from Redis, write tiles to the shared folder')
    .requiredOption('--redis <url>', 'the Redis the servers use (redis://[:password@]host:port)')
    .requiredOption('--shared-dir <dir>', 'the folder the servers share (same content, any mount point)')
    .option(
      '--model <name|path>',
      "body (the default), lite, paper, or a model directory: the servers' model (only jobs of its exact sha256 are taken)",
      DEFAULT_MODEL,
    )
    .addOption(engineOption())
    .option('--threads <n>', 'engine threads (default: all cores)', intOption(1, 256))
    .option(
      '--concurrency <n>',
      "jobs held at once; the engine runs one at a time, the other's reading and writing overlap it (default 2)",
      intOption(1, 64),
    )
    .option(
      '--lock-ms <n>',
      'how long a job stays with this worker without a sign of life before another takes it',
      intOption(1000),
      30_000,
    )
    .option('--name <id>', "name in the servers' /health (default host:pid)")
    .addHelpText(
      'after',
      `
Example:
  phasesr worker --redis redis://10.0.0.5:6379 --shared-dir /mnt/phasesr --engine ort-webgpu`,
    )
    .action(async (o: WorkerCliOptions) => {
      await runWorker(o);
    });
}

async function runWorker(o: WorkerCliOptions): Promise<void> {
  const { resolveModel, describeModel } = await import('../../models');
  const { WorkerEngine } = await import('../../server/engine/worker-engine');
  const { BlockWorker } = await import('../../server/scale/block-worker');
  const { SharedDir } = await import('../../server/scale/shared-dir');
  const { redactUrl, redisOptions } = await import('../../server/scale/block-jobs');
  try {
    redisOptions(o.redis);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const model = await resolveModel(o.model);
  log(`model: ${describeModel(model)}`);
  const shared = await SharedDir.create(o.sharedDir);
  const engine = await WorkerEngine.create(
    model.config,
    { model: o.model, ...(o.engine ? { engine: o.engine } : {}), ...(o.threads ? { threads: o.threads } : {}) },
    log,
  );
  const worker = new BlockWorker({
    url: o.redis,
    shared,
    model,
    engine,
    ...(o.concurrency ? { concurrency: o.concurrency } : {}),
    lockMs: o.lockMs,
    ...(o.name ? { id: o.name } : {}),
    log,
  });
  // Before the banner, as in serve: a signal sent on reading it must get a clean stop.
  const stop = (sig: NodeJS.Signals): void => {
    log(`${sig}: finishing the job in hand, then stopping`);
    worker
      .close()
      .then(() => engine.dispose())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.once('SIGINT', stop).once('SIGTERM', stop);
  process.stdout.write(
    `phasesr worker ${worker.id}: ${engine.engine} x ${engine.threads} threads, queue ${worker.queueName} ` +
      `on ${redactUrl(o.redis)}, shared folder ${shared.root}\n`,
  );
}
