// A second plugin, written here as any third party would (a folder with manifest.json and a plain ES
// module, found through $PHASESR_PLUGINS), proves the viewer loads plugins from manifests: its dock widget
// appears, its command inverts the display through the plugin API, its key binding works; a broken
// manifest beside it is reported and skipped without breaking the page.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { PLUGIN_PATH_ENV } from '../../server/http/viewer-routes';
import { tempDir } from '../helpers/shared';
import { inApp, meanGrey, startViewer, viewPixels, waitApp, waitLayerLoaded, type ViewerHarness } from '../viewer/browser';

const INVERT_MANIFEST = {
  name: 'invert-demo',
  display_name: 'Invert (demo)',
  version: '1.0.0',
  engine: 'phasesr-viewer@1',
  contributions: {
    commands: [
      { id: 'invert-demo.toggle', title: 'Invert the display', js_name: 'invert.js:toggle', keybinding: 'Shift+I' },
      { id: 'invert-demo.widget', title: 'Invert widget', js_name: 'invert.js:createWidget' },
    ],
    widgets: [{ command: 'invert-demo.widget', display_name: 'Invert' }],
  },
};

const INVERT_MODULE = `
let on = false;
export function toggle(api) {
  on = !on;
  api.setDisplayTransform('invert', on ? (t) => 1 - t : undefined);
  return on;
}
export function createWidget(api) {
  const b = document.createElement('button');
  b.id = 'invert-button';
  b.textContent = 'Invert';
  b.onclick = () => api.runCommand('invert-demo.toggle');
  return b;
}
`;

let h: ViewerHarness;
let saved: string | undefined;

before(async () => {
  const dir = tempDir('phasesr-plugins-');
  mkdirSync(path.join(dir, 'invert'));
  writeFileSync(path.join(dir, 'invert', 'manifest.json'), JSON.stringify(INVERT_MANIFEST));
  writeFileSync(path.join(dir, 'invert', 'invert.js'), INVERT_MODULE);
  mkdirSync(path.join(dir, 'broken'));
  writeFileSync(path.join(dir, 'broken', 'manifest.json'), JSON.stringify({ ...INVERT_MANIFEST, name: 'broken-demo' }));
  saved = process.env[PLUGIN_PATH_ENV];
  process.env[PLUGIN_PATH_ENV] = dir;
  h = await startViewer({ width: 1024, height: 768 });
});

after(async () => {
  await h?.close();
  if (saved === undefined) delete process.env[PLUGIN_PATH_ENV];
  else process.env[PLUGIN_PATH_ENV] = saved;
});

test('the server lists both plugins and reports the broken manifest', async () => {
  const body = (await (await fetch(`${h.url}/api/v1/plugins`)).json()) as {
    plugins: { manifest: { name: string } }[];
    errors: { dir: string; error: string }[];
  };
  assert.deepEqual(body.plugins.map((p) => p.manifest.name).sort(), ['invert-demo', 'phasesr-sr']);
  assert.equal(body.errors.length, 1);
  assert.match(body.errors[0]!.error, /command invert-demo\.\w+ must start with "broken-demo\."/);
  const mod = await fetch(`${h.url}/plugins/invert-demo/invert.js`);
  assert.equal(mod.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.equal((await fetch(`${h.url}/plugins/invert-demo/..%2Fmanifest.json`)).status, 404);
});

test("the second plugin's widget and command change the display through the plugin API", async () => {
  assert.ok(await h.page.locator('section[data-plugin="invert-demo"] #invert-button').isVisible(), 'its dock widget is shown');
  assert.ok(await h.page.locator('section[data-plugin="phasesr-sr"]').isVisible(), 'the SR plugin is loaded too');
  await waitLayerLoaded(h.page, 'original');
  const plain = await viewPixels(h.page);
  await h.page.click('#invert-button');
  await h.page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
  const inverted = await viewPixels(h.page);
  let worst = 0;
  // The middle of the view (the image; the bars beside it are the page's background, not the image).
  for (let y = Math.floor(plain.height * 0.3); y < plain.height * 0.7; y += 7) {
    for (let x = Math.floor(plain.width * 0.3); x < plain.width * 0.7; x += 7) {
      const i = y * plain.width + x;
      worst = Math.max(worst, Math.abs(inverted.grey[i]! - (255 - plain.grey[i]!)));
    }
  }
  assert.ok(worst <= 3, `every sampled pixel is inverted (worst error ${worst})`);
  await h.page.keyboard.press('Shift+I'); // the manifest's key binding toggles it back
  await h.page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
  const back = await viewPixels(h.page);
  assert.ok(Math.abs(meanGrey(back) - meanGrey(plain)) < 0.5, 'the key binding toggled it back');
  const help = await inApp<string>(h.page, 'document.getElementById("help-keys").textContent');
  assert.match(help, /Shift\+IInvert the display/);
  assert.deepEqual(h.errors, []);
});

test("the SR plugin's sample opens from the Open menu (generated once into .cache/)", async () => {
  await h.page.click('#open-button');
  // Playwright's click waits for the navigations it schedules to settle; in a fresh-clone CI run beside a
  // training run (2 cores saturated) that wait passed its 30 s default, so the click gets the image wait's bound.
  await h.page.getByRole('button', { name: /^Sample: Phase contrast sample/ }).click({ timeout: 120_000 });
  await waitApp(h.page, 'app.stack.image && app.stack.image.name === "sample-2048.tif"', 120_000);
  assert.match((await h.page.textContent('#image-name'))!, /sample-2048\.tif · 2048 × 2048 uint16 · 0\.870 µm\/px/);
  assert.deepEqual(await inApp(h.page, 'app.stack.layers().map((l) => l.id)'), ['original', 'bicubic', 'sr']);
  const missing = await fetch(`${h.url}/api/v1/samples/nope`, { method: 'POST' });
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'SR_ERR_NOT_FOUND');
  assert.deepEqual(h.errors, []);
});
