// The server's private exchange folder: where a local client (the Fiji bridge) puts a file before asking
// the server to open it by path. It replaces allowing the whole OS temp folder, which every user can write
// to: the folder is the server user's alone (0700), so only that user can place a file the server opens.
import { mkdir, mkdtemp, realpath, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { ServerError } from '../errors';

export class ExchangeDir {
  private constructor(
    readonly path: string,
    private readonly owned: boolean,
  ) {}

  /**
   * A fresh `phasesr-exchange-*` folder in the OS temp folder (removed at close), or `dir` (created 0700
   * when missing; kept at close).
   * @throws ServerError SR_ERR_USAGE when `dir` is not a folder, belongs to another user, or others may write to it
   */
  static async create(dir?: string): Promise<ExchangeDir> {
    // Real paths, as the allowed folders are judged (the OS temp folder may be a symlink, as on macOS).
    if (dir === undefined) return new ExchangeDir(await realpath(await mkdtemp(path.join(os.tmpdir(), 'phasesr-exchange-'))), true);
    const abs = path.resolve(dir);
    await mkdir(abs, { recursive: true, mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
      throw new ServerError('SR_ERR_USAGE', `exchange folder ${dir}: cannot create it (${e.code ?? e.message})`);
    });
    const st = await stat(abs);
    if (!st.isDirectory()) throw new ServerError('SR_ERR_USAGE', `exchange folder ${dir} is not a folder`);
    const real = await realpath(abs);
    const uid = process.getuid?.();
    if (uid === undefined) return new ExchangeDir(real, false); // Windows: no POSIX owner or mode bits to check
    if (st.uid !== uid)
      throw new ServerError('SR_ERR_USAGE', `exchange folder ${dir} belongs to another user: give a folder of the user running the server`);
    // Group or world write would let another user place (or swap) the files this server opens.
    if ((st.mode & 0o022) !== 0)
      throw new ServerError(
        'SR_ERR_USAGE',
        `exchange folder ${dir} is writable by other users (mode ${(st.mode & 0o777).toString(8)}): chmod 700 it, or ` +
          `leave --exchange-dir out for a private one`,
      );
    return new ExchangeDir(real, false);
  }

  /** Removes the folder and what clients left in it, when the server made it. */
  async close(): Promise<void> {
    if (this.owned) await rm(this.path, { recursive: true, force: true });
  }
}
