// Which server-side files clients may open: only files inside the allowed folders, judged after realpath
// (symlinks resolved, `..` gone), so neither traversal nor a link out of a folder gets through.
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';

import { ServerError } from '../errors';

export class AllowedPaths {
  private constructor(readonly roots: string[]) {}

  /** Resolves the folders now (a missing folder is an error: a typo should not silently allow nothing). */
  static async create(dirs: string[]): Promise<AllowedPaths> {
    const roots: string[] = [];
    for (const d of dirs) {
      const real = await realpath(d).catch(() => {
        throw new ServerError('SR_ERR_USAGE', `allowed folder ${d} does not exist`);
      });
      if (!(await stat(real)).isDirectory()) throw new ServerError('SR_ERR_USAGE', `allowed folder ${d} is not a folder`);
      if (!roots.includes(real)) roots.push(real);
    }
    return new AllowedPaths(roots);
  }

  /**
   * The real path of `p` when it is a file inside an allowed folder.
   * @throws ServerError SR_ERR_PATH_FORBIDDEN (outside, or relative), SR_ERR_NOT_FOUND (missing inside a folder)
   */
  async resolve(p: string): Promise<string> {
    if (!path.isAbsolute(p) || p.includes('\0')) throw new ServerError('SR_ERR_PATH_FORBIDDEN', `path must be absolute, got ${JSON.stringify(p)}`);
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
    return real;
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
