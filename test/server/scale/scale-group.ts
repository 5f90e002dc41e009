// One scale-out test setup, shared by the test files: a redis-server of the file's own (processes.ts), the tiny
// model, a shared folder, and the arguments that point `phasesr serve --redis` front ends and `phasesr worker`s
// at them, with locks short enough that a killed worker's job moves on within seconds.
import path from 'node:path';

import { testTempRoot } from '../../helpers/shared';
import { tinyModelDir } from '../helpers';
import { RedisProc, type Proc } from './processes';

export class ScaleGroup {
  private constructor(
    readonly redis: RedisProc,
    readonly model: string,
    /** The folder every server and worker of the group sees. */
    readonly shared: string,
  ) {}

  /** Redis with its files in `dir`; the shared folder is `dir`/shared. */
  static async start(dir: string): Promise<ScaleGroup> {
    const model = await tinyModelDir();
    return new ScaleGroup(await RedisProc.start(dir), model, path.join(dir, 'shared'));
  }

  /**
   * A front end without an engine. Unless `defaultWait`, its work waits for a worker as long as a test runs: the
   * tests queue jobs before any worker starts (no-worker.test.ts tests the default wait and SR_ERR_NO_WORKER).
   */
  serveArgs(defaultWait = false): string[] {
    return [
      '--allow-dir',
      testTempRoot(),
      '--model',
      this.model,
      '--redis',
      this.redis.url,
      '--shared-dir',
      this.shared,
      '--no-local-engine',
      '--lock-ms',
      '2000',
      ...(defaultWait ? [] : ['--worker-wait-ms', '3600000']),
    ];
  }

  workerArgs(): string[] {
    return ['--model', this.model, '--redis', this.redis.url, '--shared-dir', this.shared, '--threads', '1', '--lock-ms', '2000'];
  }

  /** Kills the group's processes (servers, workers), then stops Redis. */
  async stop(procs: (Proc | undefined)[]): Promise<void> {
    for (const p of procs) await p?.stop('SIGKILL');
    await this.redis.stop();
  }
}
