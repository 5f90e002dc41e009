// Real processes for the scale-out tests and bench: Debian's redis-server on a free loopback port with its
// own temp folder (no persistence, as the queue may lose everything on a restart), and `phasesr serve` /
// `phasesr worker` child processes whose output is kept and whose printed URL is parsed.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';

import { ROOT } from '../../helpers/shared';

export const REDIS_SERVER = process.env.PHASESR_REDIS_SERVER ?? 'redis-server';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function waitUntil<T>(
  what: string,
  get: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 180_000,
  every = 100,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** A child process with its output lines kept. */
export class Proc {
  /** Every process started and not yet exited (a bench's exit handler kills them, also those still starting). */
  static readonly running = new Set<Proc>();
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    Proc.running.add(this);
    child.once('exit', () => Proc.running.delete(this));
    const keep = (b: Buffer): void => void this.lines.push(...b.toString().split('\n').filter(Boolean));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
  }

  line(re: RegExp, ms = 180_000): Promise<RegExpExecArray> {
    return waitUntil(
      `${this.name}: a line matching ${re} (got: ${this.lines.slice(-5).join(' | ')})`,
      () => {
        for (const l of this.lines) {
          const m = re.exec(l);
          if (m) return m;
        }
        return undefined;
      },
      ms,
    );
  }

  /** Sends `sig` and waits for the exit. */
  async stop(sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(sig);
    await this.exited;
  }
}

/** redis-server on 127.0.0.1:port, nothing saved; restartable on the same port. */
export class RedisProc {
  #proc: Proc | undefined;

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  static async start(dir: string): Promise<RedisProc> {
    const r = new RedisProc(await freePort(), dir);
    await r.start();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#proc = new Proc('redis', child);
    await this.#proc.line(/Ready to accept connections/, 120_000);
  }

  async stop(): Promise<void> {
    await this.#proc?.stop('SIGTERM');
  }
}

/**
 * How long a `phasesr serve` / `phasesr worker` may take to start. Generous on purpose: on a shared 2-core
 * machine at load 20, tsx compiling the sources plus the model load took over 2 minutes per process.
 * A bound on liveness, not a timing assertion.
 */
export const START_MS = 600_000;

/** `phasesr serve|worker ...` as a user would run it. */
export function phasesr(name: string, args: string[]): Proc {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'phasesr.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Proc(name, child);
}

/** A started `phasesr serve` and its base URL. */
export async function startServe(name: string, args: string[], ms = START_MS): Promise<{ proc: Proc; url: string; wsUrl: string }> {
  const proc = phasesr(name, ['serve', '--port', '0', ...args]);
  const m = await Promise.race([
    proc.line(/phasesr server: (http:\/\/[^/\s]+)/, ms),
    proc.exited.then((c) => {
      throw new Error(`${name} exited (${c}): ${proc.lines.join('\n')}`);
    }),
  ]);
  return { proc, url: m[1]!, wsUrl: `${m[1]!.replace('http:', 'ws:')}/ws` };
}

export async function startWorker(name: string, args: string[], ms = START_MS): Promise<Proc> {
  const proc = phasesr(name, ['worker', '--name', name, ...args]);
  await Promise.race([
    proc.line(/phasesr worker /, ms),
    proc.exited.then((c) => {
      throw new Error(`${name} exited (${c}): ${proc.lines.join('\n')}`);
    }),
  ]);
  return proc;
}

export async function health<T = Record<string, unknown>>(url: string): Promise<T> {
  return (await (await fetch(`${url}/health`)).json()) as T;
}
