// Builds the viewer into viewer/dist with esbuild's JS API (no CDN: OpenSeadragon, zod and the protocol
// module are bundled): viewer.js + index.html + viewer.css, and each plugin's browser modules
// (plugin/<dir>/web/*.ts -> dist/plugins/<manifest name>/<file>.js). Skipped when dist is newer than every
// source. Run by `npm start`, the viewer tests, and `npm run viewer:build`.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const VIEWER_DIR = path.join(ROOT, 'viewer');
export const DIST = path.join(VIEWER_DIR, 'dist');
const STAMP = path.join(DIST, '.built');
/** What the bundle is made of: a change to any of these makes the build stale. */
const SOURCES = [
  'viewer/src',
  'viewer/index.html',
  'viewer/viewer.css',
  'viewer/build.ts',
  'plugin',
  'server/protocol',
  'package-lock.json',
];

function newestMtime(p: string): number {
  if (!existsSync(p)) return 0;
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  let m = 0;
  for (const e of readdirSync(p)) m = Math.max(m, newestMtime(path.join(p, e)));
  return m;
}

export function viewerIsStale(): boolean {
  if (!existsSync(STAMP)) return true;
  const built = statSync(STAMP).mtimeMs;
  return SOURCES.some((s) => newestMtime(path.join(ROOT, s)) > built);
}

/** Plugin browser entries: plugin/<dir>/web/<file>.ts of every folder with a manifest. */
function pluginEntries(): { in: string; out: string }[] {
  const out: { in: string; out: string }[] = [];
  const root = path.join(ROOT, 'plugin');
  for (const d of readdirSync(root, { withFileTypes: true })) {
    const manifest = path.join(root, d.name, 'manifest.json');
    const web = path.join(root, d.name, 'web');
    if (!d.isDirectory() || !existsSync(manifest) || !existsSync(web)) continue;
    const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string };
    for (const f of readdirSync(web))
      if (f.endsWith('.ts')) out.push({ in: path.join(web, f), out: path.join('plugins', name, f.replace(/\.ts$/, '')) });
  }
  return out;
}

/** Builds when stale (or `force`); resolves with whether it built. */
export async function buildViewer(opts: { force?: boolean; log?: (line: string) => void } = {}): Promise<boolean> {
  if (!opts.force && !viewerIsStale()) return false;
  const t0 = Date.now();
  await rm(DIST, { recursive: true, force: true });
  await mkdir(DIST, { recursive: true });
  await build({
    entryPoints: [{ in: path.join(VIEWER_DIR, 'src', 'main.ts'), out: 'viewer' }, ...pluginEntries()],
    outdir: DIST,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'error',
  });
  await copyFile(path.join(VIEWER_DIR, 'index.html'), path.join(DIST, 'index.html'));
  await copyFile(path.join(VIEWER_DIR, 'viewer.css'), path.join(DIST, 'viewer.css'));
  await writeFile(STAMP, `${new Date().toISOString()}\n`);
  opts.log?.(`viewer built into ${path.relative(process.cwd(), DIST) || DIST} in ${Date.now() - t0} ms`);
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildViewer({ force: process.argv.includes('--force'), log: (l) => process.stdout.write(`${l}\n`) });
}
