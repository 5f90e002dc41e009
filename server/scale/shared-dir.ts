// The folder every server and worker sees (--shared-dir, e.g. an NFS mount): source images by content hash
// (images/<sha256><ext>), uploads while they arrive (uploads/), each image's percentiles computed once
// (percentiles/<sha256>.json), the shared tile cache (cache/, the --cache-dir layout) with one marker
// per finished block, and the pixels of whole-image jobs' engine calls while they run (calls/). Every file
// appears by an atomic rename, so a reader never sees half of one.
import { copyFile, link, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { PercentileResult } from '../../models/io/percentiles';

export interface SharedPercentiles extends PercentileResult {
  /** true: this call computed them; false: another process had, and they were read back. */
  computed: boolean;
}

export class SharedDir {
  private constructor(readonly root: string) {}

  /** Creates the folder layout (idempotent: every process calls it). */
  static async create(root: string): Promise<SharedDir> {
    const d = new SharedDir(path.resolve(root));
    for (const sub of ['images', 'uploads', 'percentiles', 'cache', 'calls']) await mkdir(path.join(d.root, sub), { recursive: true });
    return d;
  }

  get uploadDir(): string {
    return path.join(this.root, 'uploads');
  }

  get cacheDir(): string {
    return path.join(this.root, 'cache');
  }

  /** A whole-image job's engine call: its input and output files, relative to the shared folder. */
  callFiles(id: string): { input: string; output: string } {
    return { input: path.join('calls', `${id}.in`), output: path.join('calls', `${id}.out`) };
  }

  /**
   * The call files now in calls/, each with the server that made it (from its name: callId) and its age.
   * A server killed mid-call never removes its files; whoever sweeps needs the owner to ask whether it lives.
   */
  async listCalls(): Promise<{ file: string; owner: string | undefined; mtimeMs: number }[]> {
    const dir = path.join(this.root, 'calls');
    const out: { file: string; owner: string | undefined; mtimeMs: number }[] = [];
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const st = await stat(path.join(dir, name)).catch(() => undefined);
      if (st?.isFile()) out.push({ file: path.join(dir, name), owner: callOwner(name), mtimeMs: st.mtimeMs });
    }
    return out;
  }

  /** Absolute path of a file named relative to the shared folder (as jobs name images). */
  resolve(rel: string): string {
    const abs = path.resolve(this.root, rel);
    if (!abs.startsWith(this.root + path.sep))
      throw Object.assign(new Error(`${rel} is outside the shared folder`), { code: 'SR_ERR_PATH_FORBIDDEN' });
    return abs;
  }

  /** A path inside the shared folder, relative to it (what jobs carry). */
  relative(abs: string): string {
    return path.relative(this.root, abs);
  }

  /**
   * Puts an image where workers find it by content hash and returns its path relative to the shared folder.
   * An upload (`owned`) is moved; any other file is hard-linked, or copied when the link fails (another
   * file system). Identical content is stored once.
   */
  async place(file: string, sha256: string, owned: boolean): Promise<string> {
    const rel = path.join('images', `${sha256}${path.extname(file).toLowerCase()}`);
    const target = this.resolve(rel);
    if (path.resolve(file) === target || (await exists(target))) {
      if (owned && path.resolve(file) !== target) await rm(file, { force: true });
      return rel;
    }
    const tmp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.partial`;
    if (owned) {
      try {
        await rename(file, target);
        return rel;
      } catch {
        // another file system: copy below, then drop the upload
      }
    }
    try {
      await link(file, tmp);
    } catch {
      await copyFile(file, tmp);
    }
    await rename(tmp, target);
    if (owned) await rm(file, { force: true });
    return rel;
  }

  /** The image's percentiles: read back if any process computed them, else computed here and stored. */
  async percentiles(sha256: string, compute: () => Promise<PercentileResult>): Promise<SharedPercentiles> {
    const file = path.join(this.root, 'percentiles', `${sha256}.json`);
    try {
      const p = JSON.parse(await readFile(file, 'utf8')) as PercentileResult;
      const u = p.unsaturated;
      if ([p.low, p.high, u?.low, u?.high].every(Number.isFinite)) {
        return { low: p.low, high: p.high, sampled: !!p.sampled, unsaturated: { low: u.low, high: u.high }, computed: false };
      }
    } catch {
      // not there yet (or unreadable): compute
    }
    const p = await compute();
    await writeAtomic(file, JSON.stringify({ low: p.low, high: p.high, sampled: p.sampled, unsaturated: p.unsaturated }));
    return { ...p, computed: true };
  }

  /** Marker written after all of a block's tiles are in the cache. */
  #marker(imageSha: string, modelSha: string, blockSize: number, bx: number, by: number): string {
    return path.join(this.cacheDir, imageSha, modelSha, `blocks${blockSize}`, `${bx}_${by}.done`);
  }

  isBlockDone(imageSha: string, modelSha: string, blockSize: number, bx: number, by: number): Promise<boolean> {
    return exists(this.#marker(imageSha, modelSha, blockSize, bx, by));
  }

  async markBlockDone(imageSha: string, modelSha: string, blockSize: number, bx: number, by: number): Promise<void> {
    const file = this.#marker(imageSha, modelSha, blockSize, bx, by);
    await mkdir(path.dirname(file), { recursive: true });
    await writeAtomic(file, '');
  }
}

/**
 * An engine call's id: its server's id, base64url-encoded (BullMQ job ids may not hold ':', and a hostname may
 * hold anything), then random hex. The files are named by it, so a sweeper can tell whose they are.
 */
export function callId(serverId: string, random: string): string {
  return `call-${Buffer.from(serverId).toString('base64url')}.${random}`;
}

/** The server id in a call file's name (callId), or undefined for a name not made by callId. */
export function callOwner(fileName: string): string | undefined {
  const m = /^call-([A-Za-z0-9_-]+)\./.exec(fileName);
  return m ? Buffer.from(m[1]!, 'base64url').toString() : undefined;
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.partial`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}
