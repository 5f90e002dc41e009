// Plugin discovery and loading: the server lists the plugin manifests it found (GET /api/v1/plugins,
// validated against plugin/manifest-schema.ts), and the viewer imports each plugin's browser modules from
// the URL folder the listing names, builds its dock widgets and registers its commands, key bindings,
// readers, writers and samples. Plugins only see the ViewerApi (plugin/api.ts, the contract viewer/ implements).
import type { ListedPlugin, PluginManifest } from '../../plugin/manifest-schema';
import type { CommandFn, ViewerApi, WidgetFactory } from '../../plugin/api';

export interface LoadedPlugin {
  manifest: PluginManifest;
  widgets: { title: string; element: HTMLElement }[];
  error?: string;
}

export interface PluginRegistry {
  plugins: LoadedPlugin[];
  commands: Map<string, { title: string; plugin: string; run: () => Promise<unknown> }>;
  keybindings: Map<string, string>;
  /** Lowercase extensions some reader accepts (".tif"). */
  readableExtensions: Set<string>;
  writers: { plugin: string; display_name: string; extensions: string[] }[];
  samples: { plugin: string; key: string; display_name: string; uri: string }[];
}

/** Builds the API a plugin sees; `name` scopes its configuration. */
export type ApiFactory = (manifest: PluginManifest, registry: PluginRegistry) => ViewerApi;

export async function loadPlugins(makeApi: ApiFactory): Promise<PluginRegistry> {
  const reg: PluginRegistry = {
    plugins: [],
    commands: new Map(),
    keybindings: new Map(),
    readableExtensions: new Set(),
    writers: [],
    samples: [],
  };
  const res = await fetch('/api/v1/plugins');
  if (!res.ok) throw new Error(`GET /api/v1/plugins: HTTP ${res.status}`);
  const listed = (await res.json()) as { plugins: ListedPlugin[]; errors: { dir: string; error: string }[] };
  for (const e of listed.errors) console.warn(`phasesr: plugin in ${e.dir} not loaded: ${e.error}`);
  for (const { manifest, baseUrl } of listed.plugins) {
    const loaded: LoadedPlugin = { manifest, widgets: [] };
    reg.plugins.push(loaded);
    const c = manifest.contributions;
    for (const r of c.readers) for (const p of r.filename_patterns) reg.readableExtensions.add(p.slice(1).toLowerCase());
    for (const w of c.writers) reg.writers.push({ plugin: manifest.name, display_name: w.display_name, extensions: w.filename_extensions });
    for (const s of c.sample_data) reg.samples.push({ plugin: manifest.name, ...s });
    const api = makeApi(manifest, reg);
    const modules = new Map<string, Promise<Record<string, unknown>>>();
    const exportOf = async (jsName: string): Promise<unknown> => {
      const [file, name] = jsName.split(':') as [string, string];
      if (!modules.has(file)) modules.set(file, import(/* @vite-ignore */ `${baseUrl}/${file}`) as Promise<Record<string, unknown>>);
      const fn = (await modules.get(file)!)[name];
      if (typeof fn !== 'function') throw new Error(`${manifest.name}: ${file} has no export ${name}`);
      return fn;
    };
    for (const cmd of c.commands) {
      if (!cmd.js_name) continue;
      const js = cmd.js_name;
      reg.commands.set(cmd.id, { title: cmd.title, plugin: manifest.name, run: async () => ((await exportOf(js)) as CommandFn)(api) });
      if (cmd.keybinding) reg.keybindings.set(cmd.keybinding, cmd.id);
    }
    try {
      for (const w of c.widgets) {
        const cmd = c.commands.find((x) => x.id === w.command)!;
        const factory = (await exportOf(cmd.js_name!)) as WidgetFactory;
        loaded.widgets.push({ title: w.display_name, element: factory(api) });
      }
    } catch (e) {
      loaded.error = (e as Error).message;
      console.warn(`phasesr: plugin ${manifest.name} failed to load: ${loaded.error}`);
    }
  }
  return reg;
}

/** Configuration defaults of a manifest, overridden by what the user saved in this browser. */
export function pluginConfig(manifest: PluginManifest): Map<string, unknown> {
  const values = new Map<string, unknown>();
  for (const section of manifest.contributions.configuration) {
    for (const [key, prop] of Object.entries(section.properties)) {
      const saved = localStorage.getItem(`phasesr.config.${key}`);
      values.set(key, saved === null ? prop.default : (JSON.parse(saved) as unknown));
    }
  }
  return values;
}
