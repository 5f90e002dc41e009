// Installs the bridge macro into a Fiji or ImageJ 1.x folder: plugins/PhaseSR/PhaseSR_Super_Resolve.ijm, where
// ImageJ lists it as Plugins › PhaseSR › PhaseSR Super Resolve (a macro with an underscore in its name, in a
// plugins subfolder, becomes a command named after the file, underscores read as spaces).
import { copyFile, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MACRO_FILE = 'PhaseSR_Super_Resolve.ijm';
export const MACRO_SOURCE = path.join(path.dirname(fileURLToPath(import.meta.url)), MACRO_FILE);
/** The command name ImageJ gives the installed macro (what `run("...")` takes). */
export const COMMAND = 'PhaseSR Super Resolve';
export const MENU_PATH = `Plugins › PhaseSR › ${COMMAND}`;

export class InstallError extends Error {
  constructor(
    readonly code: 'SR_ERR_USAGE' | 'SR_ERR_IO',
    message: string,
  ) {
    super(message);
  }
}

export interface InstallResult {
  /** The ImageJ/Fiji folder, resolved. */
  folder: string;
  /** Where the macro now is. */
  target: string;
  /** The macro was there already (now replaced by this version). */
  replaced: boolean;
  /** What made the folder look like ImageJ/Fiji. */
  evidence: string;
}

async function isDir(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
}

async function isFile(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isFile() ?? false;
}

/**
 * Why `folder` is an ImageJ/Fiji folder (it has plugins/ and one of: ij.jar, jars/ij-*.jar, macros/, luts/),
 * or undefined. Fiji.app, a plain ImageJ folder, /usr/share/imagej and ~/.imagej all qualify.
 */
export async function imagejEvidence(folder: string): Promise<string | undefined> {
  if (!(await isDir(path.join(folder, 'plugins')))) return undefined;
  if (await isFile(path.join(folder, 'ij.jar'))) return 'plugins/ and ij.jar (ImageJ)';
  const jars = path.join(folder, 'jars');
  if (await isDir(jars)) {
    const ij = (await readdir(jars)).find((f) => /^ij-[\d.]+[a-z]?\d*\.jar$/.test(f) || f === 'ij.jar');
    if (ij) return `plugins/ and jars/${ij} (Fiji)`;
  }
  for (const d of ['macros', 'luts']) if (await isDir(path.join(folder, d))) return `plugins/ and ${d}/ (ImageJ)`;
  return undefined;
}

export async function installMacro(folder: string, source = MACRO_SOURCE): Promise<InstallResult> {
  const abs = path.resolve(folder);
  if (!(await isDir(abs)))
    throw new InstallError(
      'SR_ERR_USAGE',
      `${folder} is not a folder: pass your Fiji.app (or ImageJ) folder, e.g. phasesr fiji-install ~/Fiji.app`,
    );
  const evidence = await imagejEvidence(abs);
  if (!evidence) {
    const parent =
      path.basename(abs) === 'plugins' && (await imagejEvidence(path.dirname(abs))) ? ` (did you mean ${path.dirname(abs)}?)` : '';
    throw new InstallError(
      'SR_ERR_USAGE',
      `${folder} is not a Fiji or ImageJ folder: expected a plugins/ folder beside ij.jar, jars/ij-*.jar, macros/ or ` +
        `luts/${parent}. Pass the Fiji.app folder, e.g. phasesr fiji-install ~/Fiji.app`,
    );
  }
  const dir = path.join(abs, 'plugins', 'PhaseSR');
  const target = path.join(dir, MACRO_FILE);
  const replaced = await isFile(target);
  try {
    await mkdir(dir, { recursive: true });
    await copyFile(source, target);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const hint =
      err.code === 'EACCES' || err.code === 'EPERM'
        ? " (permission denied: run it as the folder's owner, or install into your own ImageJ folder, e.g. ~/.imagej)"
        : '';
    throw new InstallError('SR_ERR_IO', `cannot write ${target}: ${err.message}${hint}`);
  }
  // A copy that differs from the source would be a silent half-install.
  if (!(await readFile(target)).equals(await readFile(source)))
    throw new InstallError('SR_ERR_IO', `${target} does not match ${source} after copying`);
  return { folder: abs, target, replaced, evidence };
}
