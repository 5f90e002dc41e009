// The SR plugin's npe2-style manifest against its schema, the generated JSON Schema kept current, and the
// schema refusing what would break the viewer (dangling command references, widgets without a module,
// commands outside the plugin's namespace, unknown fields), with messages that say where.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { parseManifest, type PluginManifest } from '../../plugin/manifest-schema';
import { SCHEMA_FILE, schemaText } from '../../plugin/write-schema';
import { discoverPlugins } from '../../server/http/viewer-routes';
import { ROOT } from '../helpers/shared';

const srManifest = (): PluginManifest =>
  JSON.parse(readFileSync(path.join(ROOT, 'plugin', 'sr', 'manifest.json'), 'utf8')) as PluginManifest;

test('the SR manifest is valid and contributes commands, readers, writers, widget, sample and configuration', () => {
  const r = parseManifest(srManifest());
  assert.ok(r.ok, r.ok ? '' : r.error);
  const c = r.manifest.contributions;
  assert.deepEqual(
    c.commands
      .filter((x) => x.js_name)
      .map((x) => x.id)
      .sort(),
    ['phasesr-sr.compare', 'phasesr-sr.super_resolve', 'phasesr-sr.widget'],
  );
  const patterns = c.readers.flatMap((x) => x.filename_patterns);
  for (const p of ['*.tif', '*.tiff', '*.ome.tif', '*.png', '*.jpg', '*.jpeg']) assert.ok(patterns.includes(p), `reads ${p}`);
  assert.deepEqual(
    c.writers.flatMap((x) => x.filename_extensions),
    ['.tif', '.tiff'],
  );
  assert.equal(c.widgets.length, 1);
  assert.equal(c.sample_data[0]?.uri, '/api/v1/samples/phase-contrast');
  const props = c.configuration[0]!.properties;
  assert.equal(props['phasesr-sr.scale']?.default, 8);
  assert.deepEqual(props['phasesr-sr.scale']?.enum, [2, 4, 8]);
});

test('plugin/manifest.schema.json is the JSON Schema generated from the zod schema (npm run plugin:schema)', () => {
  assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), schemaText());
  const schema = JSON.parse(schemaText()) as { required: string[] };
  assert.deepEqual([...schema.required].sort(), ['contributions', 'display_name', 'engine', 'name', 'version']);
});

test('broken manifests are refused with the path of what is wrong', () => {
  const cases: [string, (m: PluginManifest) => void, RegExp][] = [
    [
      'widget names a missing command',
      (m) => {
        m.contributions.widgets[0]!.command = 'phasesr-sr.nope';
      },
      /contributions: contribution names command phasesr-sr\.nope/,
    ],
    [
      'widget command without a module',
      (m) => {
        delete m.contributions.commands.find((c) => c.id === 'phasesr-sr.widget')!.js_name;
      },
      /needs a js_name/,
    ],
    [
      'command outside the namespace',
      (m) => {
        m.contributions.commands[0]!.id = 'other.super_resolve';
      },
      /must start with "phasesr-sr\."/,
    ],
    [
      'unknown field',
      (m) => {
        (m as unknown as Record<string, unknown>).main = 'x.js';
      },
      /Unrecognized key/,
    ],
    [
      'module path with a folder',
      (m) => {
        m.contributions.commands[0]!.js_name = '../x.js:run';
      },
      /contributions\.commands\.0\.js_name/,
    ],
    [
      'wrong engine',
      (m) => {
        (m as unknown as Record<string, unknown>).engine = 'napari';
      },
      /engine/,
    ],
  ];
  for (const [what, breakIt, expected] of cases) {
    const m = srManifest();
    breakIt(m);
    const r = parseManifest(m);
    assert.equal(r.ok, false, what);
    if (!r.ok) assert.match(r.error, expected, what);
  }
});

test('the server discovers the SR plugin from plugin/*/manifest.json', async () => {
  const { plugins, errors } = await discoverPlugins();
  assert.deepEqual(errors, []);
  const sr = plugins.find((p) => p.manifest.name === 'phasesr-sr');
  assert.equal(sr?.baseUrl, '/plugins/phasesr-sr');
  assert.equal(sr?.dir, path.join(ROOT, 'plugin', 'sr'));
});
