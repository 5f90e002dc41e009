// What the web viewer needs beyond tiles: the plugin manifests (discovered from plugin/*/manifest.json and
// the folders in $PHASESR_PLUGINS, validated against plugin/manifest-schema.ts), the plugins' browser
// modules, and the bundled sample image (made once into .cache/, then opened like any file).
//   GET  /api/v1/plugins               {plugins: [{manifest, baseUrl}], errors: [{dir, error}]}
//   GET  /plugins/:name/:file.js       a plugin module (the built one from viewer/dist/plugins/, else the plugin folder's)
//   POST /api/v1/samples/:key          opens the sample (key from a manifest's sample_data), answers ImageInfo
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Express } from 'express';

import { parseManifest, type ListedPlugin } from '../../plugin/manifest-schema';
import type { ServerContext } from '../context';
import { ServerError } from '../errors';
import { VIEWER_DIST } from './index-page';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUILTIN_PLUGINS = path.join(ROOT, 'plugin');
/** Extra plugin folders (or folders of plugin folders), separated like PATH. */
export const PLUGIN_PATH_ENV = 'PHASESR_PLUGINS';
export const SAMPLE_FILE = path.join(ROOT, '.cache', 'sample-2048.tif');

interface FoundPlugin extends ListedPlugin {
  dir: string;
}

/** Every folder holding a manifest.json: plugin/* and $PHASESR_PLUGINS entries (each itself or its children). */
export async function discoverPlugins(): Promise<{ plugins: FoundPlugin[]; errors: { dir: string; error: string }[] }> {
  const roots = [BUILTIN_PLUGINS, ...(process.env[PLUGIN_PATH_ENV] ?? '').split(path.delimiter).filter(Boolean)];
  const dirs: string[] = [];
  for (const r of roots) {
    if (existsSync(path.join(r, 'manifest.json'))) dirs.push(r);
    else
      for (const e of await readdir(r, { withFileTypes: true }).catch(() => []))
        if (e.isDirectory() && existsSync(path.join(r, e.name, 'manifest.json'))) dirs.push(path.join(r, e.name));
  }
  const plugins: FoundPlugin[] = [];
  const errors: { dir: string; error: string }[] = [];
  for (const dir of dirs) {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
    } catch (e) {
      errors.push({ dir, error: `manifest.json is not readable JSON: ${(e as Error).message}` });
      continue;
    }
    const r = parseManifest(raw);
    if (!r.ok) errors.push({ dir, error: r.error });
    else if (plugins.some((p) => p.manifest.name === r.manifest.name))
      errors.push({ dir, error: `a plugin named ${r.manifest.name} is already loaded` });
    else plugins.push({ manifest: r.manifest, baseUrl: `/plugins/${r.manifest.name}`, dir });
  }
  return { plugins, errors };
}

export function mountViewerRoutes(app: Express, ctx: ServerContext): void {
  app.get('/api/v1/plugins', async (_req, res) => {
    const { plugins, errors } = await discoverPlugins();
    res.json({ plugins: plugins.map(({ manifest, baseUrl }) => ({ manifest, baseUrl })), errors });
  });

  app.get('/plugins/:name/:file', async (req, res) => {
    const { name, file } = req.params;
    if (!/^[A-Za-z0-9_-]+\.js$/.test(file)) throw new ServerError('SR_ERR_NOT_FOUND', `no plugin module ${file}`);
    const plugin = (await discoverPlugins()).plugins.find((p) => p.manifest.name === name);
    if (!plugin) throw new ServerError('SR_ERR_NOT_FOUND', `no plugin ${name}`);
    const built = path.join(VIEWER_DIST, 'plugins', name, file);
    const own = path.join(plugin.dir, file);
    const found = existsSync(built) ? built : existsSync(own) ? own : undefined;
    if (!found) throw new ServerError('SR_ERR_NOT_FOUND', `plugin ${name} has no module ${file} (is the viewer built?)`);
    res
      .type('text/javascript')
      .set('Cache-Control', 'no-cache')
      .send(await readFile(found));
  });

  app.post('/api/v1/samples/:key', async (req, res) => {
    if (req.params.key !== 'phase-contrast') throw new ServerError('SR_ERR_NOT_FOUND', `no sample ${req.params.key}`);
    if (!existsSync(SAMPLE_FILE)) {
      const { writeSampleFile } = await import('../../models/sample/sample-file');
      await mkdir(path.dirname(SAMPLE_FILE), { recursive: true });
      const tmp = `${SAMPLE_FILE}.${process.pid}.partial.tif`;
      await writeSampleFile(tmp, { width: 2048, height: 2048, seed: 1 });
      const { rename } = await import('node:fs/promises');
      await rename(tmp, SAMPLE_FILE);
    }
    const img = await ctx.store.openFile(SAMPLE_FILE, { pinned: true });
    res.json(img.info());
  });
}
