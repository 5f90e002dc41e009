// Which server-side files clients may open: only regular files inside the allowed folders, judged after
// realpath (symlinks resolved, `..` gone), so neither traversal nor a link out of a folder gets through.
// A FIFO or device would block the I/O thread pool on its first read, so the type is checked on a
// non-blocking open; in a world-writable folder (the OS temp folder) only the server user's own files count.
import { constants } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

import { ServerError } from '../errors';

export class AllowedPaths {
  private constructor(
    readonly roots: string[],
    readonly shared: string[],
  ) {}

  /** Resolves the folders now (a missing folder is an error: a typo should not silently allow nothing). */
  static async create(dirs: string[]): Promise<AllowedPaths> {
    const roots: string[] = [];
    const shared: string[] = [];
    for (const d of dirs) {
      const real = await realpath(d).catch(() => {
        throw new ServerError('SR_ERR_USAGE', `allowed folder ${d} does not exist`);
      });
      const st = await stat(real);
      if (!st.isDirectory()) throw new ServerError('SR_ERR_USAGE', `allowed folder ${d} is not a folder`);
      if (!roots.includes(real)) roots.push(real);
      if ((st.mode & 0o002) !== 0 && !shared.includes(real)) shared.push(real);
    }
    return new AllowedPaths(roots, shared);
  }

  /**
   * The real path of `p` when it is a file inside an allowed folder.
   * @throws ServerError SR_ERR_PATH_FORBIDDEN (outside, or relative), SR_ERR_NOT_FOUND (missing inside a folder)
   */
  async resolve(p: string): Promise<string> {
    if (!path.isAbsolute(p) || p.includes('\0'))
      throw new ServerError('SR_ERR_PATH_FORBIDDEN', `path must be absolute, got ${JSON.stringify(p)}`);
    let real: string;
    try {
      real = await realpath(p);
    } catch {
      // Say "not found" only inside an allowed folder, so the answer does not probe the rest of the disk.
      const lexical = path.resolve(p);
      if (this.roots.some((r) => isInside(lexical, r))) throw new ServerError('SR_ERR_NOT_FOUND', `no such file: ${p}`);
      throw this.#forbidden(p);
    }
    if (!this.roots.some((r) => isInside(real, r))) throw this.#forbidden(p);
    await this.#checkFile(p, real);
    return real;
  }

  /** A regular file, checked without blocking (O_NONBLOCK: opening a FIFO does not wait for a writer). */
  async #checkFile(p: string, real: string): Promise<void> {
    let fh;
    try {
      fh = await open(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new ServerError(code === 'ENOENT' ? 'SR_ERR_NOT_FOUND' : 'SR_ERR_PATH_FORBIDDEN', `cannot open ${p} (${code ?? 'error'})`);
    }
    try {
      const st = await fh.stat();
      if (st.isDirectory()) throw new ServerError('SR_ERR_IO', `cannot open ${p}: is a directory`);
      if (!st.isFile()) throw new ServerError('SR_ERR_PATH_FORBIDDEN', `${p} is not a regular file (only image files are opened)`);
      const uid = process.getuid?.();
      if (uid !== undefined && st.uid !== uid && this.shared.some((r) => isInside(real, r))) {
        throw new ServerError(
          'SR_ERR_PATH_FORBIDDEN',
          `${p} is in a folder every user can write to and belongs to another user: only files of the user running the server are opened there`,
        );
      }
    } finally {
      await fh.close();
    }
  }

  #forbidden(p: string): ServerError {
    return new ServerError('SR_ERR_PATH_FORBIDDEN', `${p} is not inside an allowed folder (start the server with --allow-dir DIR)`);
  }
}

/** Whether `p` lies strictly below `root` (both absolute; the folder itself is not inside). */
export function isInside(p: string, root: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' ? false : !rel.startsWith('..') && !path.isAbsolute(rel);
}
