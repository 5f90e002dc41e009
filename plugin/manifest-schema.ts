// The npe2-style plugin manifest (napari's plugin manifest, adapted to a browser viewer): what a plugin
// contributes, as data the viewer can list without running plugin code. Browser modules are named by
// `js_name: "file.js:export"` where npe2 has `python_name: "module:attr"`. Pure zod: imported by the server
// (which validates manifests before listing them) and by tests; plugin/manifest.schema.json is generated
// from it (`npm run plugin:schema`) for editors and other validators.
import { z } from 'zod';

/** Plugin and contribution ids: `plugin-name.command_name` (npe2 convention). */
const PluginName = z.string().regex(/^[a-z][a-z0-9-]{1,62}$/, 'lowercase letters, digits and dashes');
const CommandId = z.string().regex(/^[a-z][a-z0-9-]*\.[a-z][a-z0-9_.-]*$/, '<plugin-name>.<command>');
/** A browser module file of the plugin (relative, no folders, .js) and the export to call. */
const JsName = z.string().regex(/^[A-Za-z0-9_-]+\.js:[A-Za-z_$][\w$]*$/, '"file.js:exportName"');
const Keybinding = z.string().regex(/^((Shift|Alt|Ctrl)\+)*([A-Za-z0-9]|F\d{1,2})$/, 'e.g. "Shift+S"');

export const CommandContribution = z
  .object({
    id: CommandId,
    title: z.string().min(1),
    /** Runs in the browser: `activate` of the module gets the viewer's plugin API. Absent: the server implements it. */
    js_name: JsName.optional(),
    keybinding: Keybinding.optional(),
  })
  .strict();

export const ReaderContribution = z
  .object({
    command: CommandId,
    filename_patterns: z.array(z.string().regex(/^\*\.[a-z0-9.]+$/i, '"*.ext"')).min(1),
    accepts_directories: z.boolean().default(false),
  })
  .strict();

export const WriterContribution = z
  .object({
    command: CommandId,
    layer_types: z.array(z.enum(['image', 'labels', 'shapes'])).min(1),
    filename_extensions: z.array(z.string().regex(/^\.[a-z0-9.]+$/i, '".ext"')).min(1),
    display_name: z.string().min(1),
  })
  .strict();

export const WidgetContribution = z
  .object({
    /** A command with a js_name whose export builds the dock widget. */
    command: CommandId,
    display_name: z.string().min(1),
  })
  .strict();

export const SampleDataContribution = z
  .object({
    key: z.string().regex(/^[a-z0-9-]+$/),
    display_name: z.string().min(1),
    /** Server URL that opens the sample (POST) and answers its ImageInfo. */
    uri: z.string().regex(/^\/[\w/.-]*$/, 'a server path'),
  })
  .strict();

const ConfigProperty = z
  .object({
    type: z.enum(['integer', 'number', 'string', 'boolean']),
    default: z.union([z.number(), z.string(), z.boolean()]),
    enum: z.array(z.union([z.number(), z.string()])).optional(),
    description: z.string().optional(),
  })
  .strict();

export const ConfigurationContribution = z
  .object({
    title: z.string().min(1),
    properties: z.record(z.string().regex(/^[a-z][\w.-]*$/), ConfigProperty),
  })
  .strict();

export const PluginManifestSchema = z
  .object({
    $schema: z.string().optional(),
    name: PluginName,
    display_name: z.string().min(1),
    version: z.string().regex(/^\d+\.\d+\.\d+/),
    description: z.string().optional(),
    /** The viewer plugin API major version this plugin was written for. */
    engine: z.literal('phasesr-viewer@1'),
    contributions: z
      .object({
        commands: z.array(CommandContribution).default([]),
        readers: z.array(ReaderContribution).default([]),
        writers: z.array(WriterContribution).default([]),
        widgets: z.array(WidgetContribution).default([]),
        sample_data: z.array(SampleDataContribution).default([]),
        configuration: z.array(ConfigurationContribution).default([]),
      })
      .strict(),
  })
  .strict()
  .superRefine((m, ctx) => {
    const ids = new Set(m.contributions.commands.map((c) => c.id));
    const refs = [
      ...m.contributions.readers.map((r) => r.command),
      ...m.contributions.writers.map((w) => w.command),
      ...m.contributions.widgets.map((w) => w.command),
    ];
    for (const c of m.contributions.commands) {
      if (!c.id.startsWith(`${m.name}.`))
        ctx.addIssue({ code: 'custom', message: `command ${c.id} must start with "${m.name}."`, path: ['contributions', 'commands'] });
    }
    for (const r of refs)
      if (!ids.has(r))
        ctx.addIssue({
          code: 'custom',
          message: `contribution names command ${r}, which is not in contributions.commands`,
          path: ['contributions'],
        });
    for (const w of m.contributions.widgets) {
      if (!m.contributions.commands.find((c) => c.id === w.command)?.js_name) {
        ctx.addIssue({
          code: 'custom',
          message: `widget command ${w.command} needs a js_name (the module that builds it)`,
          path: ['contributions', 'widgets'],
        });
      }
    }
  });

export type PluginManifest = z.infer<typeof PluginManifestSchema>;

/** A manifest as the server lists it: where its browser modules are served from. */
export interface ListedPlugin {
  manifest: PluginManifest;
  /** URL folder of the plugin's modules: `${baseUrl}/${file}.js`. */
  baseUrl: string;
}

/** Validates a parsed manifest; the error lists what is wrong, path by path. */
export function parseManifest(raw: unknown): { ok: true; manifest: PluginManifest } | { ok: false; error: string } {
  const r = PluginManifestSchema.safeParse(raw);
  if (r.success) return { ok: true, manifest: r.data };
  return { ok: false, error: r.error.issues.map((i) => `${i.path.join('.') || '(manifest)'}: ${i.message}`).join('; ') };
}

/** The manifest's JSON Schema (draft 2020-12), generated from the zod schema above. */
export function manifestJsonSchema(): object {
  return z.toJSONSchema(PluginManifestSchema, { io: 'input', unrepresentable: 'any' });
}
