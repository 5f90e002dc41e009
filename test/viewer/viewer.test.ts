// The viewer in a real browser (Debian's headless Chromium via playwright-core) against the real server:
// page load, fast-pan cancellation, SR tiles past native, compare split and contrast, upload. One server and
// one page for the whole file; the steps run in order and build on each other's view.
import assert from 'node:assert/strict';
import { realpath } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import sharp from 'sharp';

import { ImageSource } from '../../models/io/image-source';
import { writeImage } from '../../models/io/write-image';
import { holdEngine } from '../helpers/held-engine';
import { tempDir } from '../helpers/shared';
import { until } from '../helpers/until';
import {
  goTo,
  greyStd,
  inApp,
  meanAbsDiff,
  meanGrey,
  startViewer,
  viewPixels,
  waitApp,
  waitLayerLoaded,
  type ViewerHarness,
} from './browser';
import { PhasesrClient } from '../../server/client/phasesr-client';

// Larger than the 1280x720 page's view, so the first (home) view is below native and asks no model tiles.
const W = 1024,
  H = 768;
// Inside one 128x128 LR region (x 384..512, y 256..384: 2x2 blocks of the default 64): at x8 the whole view needs
// those four inferences only.
const SPOT = { x: 448, y: 320 };
let h: ViewerHarness;

before(async () => {
  h = await startViewer({ width: W, height: H });
});

after(async () => {
  await h?.close();
});

test("the page loads the sample with the SR plugin's layers and dock widget, and logs no errors", async () => {
  assert.equal(await h.page.title(), 'phasesr viewer');
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template literal evaluated in the page
  const layers = await inApp<string[]>(h.page, 'app.stack.layers().map((l) => `${l.id}:${l.plugin ?? "core"}`)');
  assert.deepEqual(layers, ['original:core', 'bicubic:phasesr-sr', 'sr:phasesr-sr']);
  assert.ok(await h.page.locator('section[data-plugin="phasesr-sr"] .sr-widget').isVisible(), 'the SR dock widget is shown');
  assert.match((await h.page.textContent('#image-name'))!, /sample\.tif · 1024 × 768 uint16 · 0\.870 µm\/px/);
  await waitLayerLoaded(h.page, 'original');
  const shot = await viewPixels(h.page);
  assert.ok(greyStd(shot) > 5, `the image is drawn (grey std ${greyStd(shot).toFixed(1)})`);
  assert.match((await h.page.textContent('#scale-bar'))!, /^\s*\d+ µm\s*$/);
  assert.match((await h.page.textContent('#zoom-badge'))!, /of native · level \d+\/13/);
  assert.deepEqual(h.errors, []);
});

test('a fast pan at 8x sends viewport hints: the server cancels the tiles left behind', async () => {
  // The pan must leave behind tiles the server has not made yet. How long lite takes per view depends on the
  // machine (idle, lite with spatial merging served each view before the viewer moved on; beside a training
  // run it did not), so the engine is held shut for the pan, with another client's tile in it: the viewer's
  // tiles of every view it passes wait in the server's queue until a hint drops them, on any machine.
  const { tiles, stats, engine } = h.server;
  // Where the pan ends, drawn first: coming back to it asks the server for nothing, so what waits in the
  // queue during the pan is the pan's own work.
  await goTo(h.page, SPOT.x, SPOT.y, 8);
  await waitLayerLoaded(h.page, 'sr');
  await until(() => tiles.queue.running === 0 && tiles.queue.queued === 0, 'an idle engine', 60_000);
  const imageId = await inApp<string>(h.page, 'app.stack.image.imageId');
  const other = await PhasesrClient.connect(h.url);
  const held = holdEngine(engine);
  let busy: Promise<void> | undefined;
  try {
    // Another scientist's tile, far from the pan, is in the engine: the viewer's tiles queue behind it.
    busy = (async () => {
      for await (const t of other.requestTiles([{ imageId, level: 13, x: 0, y: 0, encoding: 'png', priority: 'visible' }]))
        assert.ok(t.ok, 'the other client gets its tile once the engine is let go');
    })();
    await until(() => held.waiting === 1, "the other client's engine call");
    const calls = stats.engineCalls;
    // The viewer's own counters: the server's tilesSent also counts the other client's tile.
    const before = await inApp<{ requested: number; received: number; cancelledByServer: number; cancelledByViewer: number }>(
      h.page,
      '({ ...app.socket.counters })',
    );
    const modelTilePending = (inView: boolean): string => {
      const wanted = inView ? ' && app.stack.view.wanted(t.level, t.x, t.y)' : '';
      return `app.socket.pendingTileIds.some((id) => { const t = app.socket.pendingTile(id); return t.level > 10${wanted}; })`;
    };
    let queuedPeak = 0;
    // Fresh 8x views along a row far from SPOT: the viewer moves on as soon as it has asked for a model tile of
    // the view it is on (which the held engine cannot make), as a user panning fast does.
    for (const x of [150, 300, 450, 600, 750, 900]) {
      await goTo(h.page, x, 600, 8);
      await waitApp(h.page, modelTilePending(true), 60_000);
      await until(() => tiles.queue.queued > 0, "the view's blocks in the server's queue");
      queuedPeak = Math.max(queuedPeak, tiles.queue.queued);
    }
    await goTo(h.page, SPOT.x, SPOT.y, 8); // drawn already; also where the next test looks
    // The hint for SPOT leaves none of the pan's tiles in view: the server cancels every one still waiting,
    // and its queue drops their blocks, which the held engine never ran.
    await waitApp(h.page, `!(${modelTilePending(false)})`, 60_000);
    await until(() => tiles.queue.queued === 0, "the pan's blocks dropped from the queue");
    assert.equal(held.waiting, 1, "the engine still holds only the other client's call");
    assert.equal(stats.engineCalls, calls, 'no engine call ran during the pan');
    assert.ok(queuedPeak > 0, 'blocks of the pan waited in the queue');
    const c = await inApp<typeof before>(h.page, '({ ...app.socket.counters })');
    assert.ok(c.cancelledByServer > before.cancelledByServer, 'the server answered viewport hints with cancelled');
    assert.equal(c.cancelledByViewer, before.cancelledByViewer, 'the viewer cancelled nothing itself: the server did');
    const sent = c.received - before.received;
    const requested = c.requested - before.requested;
    assert.ok(sent < requested, `not every tile requested during the pan was sent (${sent} of ${requested})`);
    assert.match((await h.page.textContent('#status-tiles'))!, /[1-9]\d* cancelled/);
    held.release();
    await busy;
  } finally {
    held.release();
    other.cancel('all');
    await other.close();
    await busy?.catch(() => {});
  }
});

test('past native the SR layer draws model tiles that differ from the bicubic layer at the same place', async () => {
  await goTo(h.page, SPOT.x, SPOT.y, 8);
  // While SR tiles compute, the hidden bicubic layer is drawn under the SR layer as its placeholder.
  await waitLayerLoaded(h.page, 'bicubic');
  assert.deepEqual(
    await inApp(h.page, '[app.stack.layers().find((l) => l.id === "bicubic").visible, app.stack.item("bicubic").getOpacity()]'),
    [false, 1],
  );
  await inApp(h.page, '(app.stack.set("sr", { visible: false }), app.stack.set("bicubic", { visible: true }), true)');
  await waitLayerLoaded(h.page, 'bicubic');
  const bicubic = await viewPixels(h.page);
  await inApp(h.page, '(app.stack.set("sr", { visible: true }), app.stack.set("bicubic", { visible: false }), true)');
  await waitLayerLoaded(h.page, 'sr');
  const sr = await viewPixels(h.page);
  const diff = meanAbsDiff(bicubic, sr);
  assert.ok(greyStd(sr) > 5, 'the SR view has content');
  assert.ok(diff > 0.1, `SR and bicubic views differ (mean |diff| ${diff.toFixed(3)})`);
  assert.ok(await inApp<boolean>(h.page, 'app.status.msPerTile > 0'), 'model tiles arrived and were timed');
  assert.match((await h.page.textContent('#zoom-badge'))!, /×8\.0 of native · level 13\/13 · ×8 model-made/);
  assert.match((await h.page.textContent('#status-timing'))!, /SR tile: \d+ ms/);
});

test('"Compare with bicubic" works from a fresh page in one click: both halves have content (button, Shift+C, Compare panel)', async () => {
  // A fresh page on the same server: the bicubic layer is hidden, as a new user finds it.
  const page = await h.context.newPage();
  try {
    await page.goto(`${h.url}/`);
    await page.waitForFunction('document.body.dataset.ready === "true"', undefined, { timeout: 60_000 });
    assert.equal(await inApp(page, 'app.stack.layers().find((l) => l.id === "bicubic").visible'), false);
    await goTo(page, SPOT.x, SPOT.y, 8); // the blocks the previous test computed: no wait for the model
    const halves = async (how: string): Promise<void> => {
      for (const id of await inApp<string[]>(page, 'app.stack.compare')) await waitLayerLoaded(page, id);
      const shot = await viewPixels(page);
      const left = greyStd(crop(shot, 0.05, 0.45)),
        right = greyStd(crop(shot, 0.55, 0.95));
      assert.ok(left > 5 && right > 5, `${how}: both halves drawn (grey std left ${left.toFixed(1)}, right ${right.toFixed(1)})`);
    };
    await page.click('#compare-toggle'); // the Compare panel with the pair it offers a new page
    assert.equal(await inApp(page, 'app.stack.compare.join("|")'), 'original|bicubic');
    await halves('the Compare panel');
    await page.click('#compare-toggle');
    await page.click('section[data-plugin="phasesr-sr"] button[data-role="compare"]');
    assert.equal(await inApp(page, 'app.stack.compare.join("|")'), 'sr|bicubic');
    await halves('the button');
    await page.click('section[data-plugin="phasesr-sr"] button[data-role="compare"]'); // off again
    assert.equal(await inApp(page, 'app.stack.compare === undefined'), true);
    await page.keyboard.press('Shift+C'); // the focus is still on the button
    assert.equal(await inApp(page, 'app.stack.compare.join("|")'), 'sr|bicubic');
    await halves('Shift+C');
  } finally {
    await page.close();
  }
});

test('the compare split and the contrast limits change what is drawn', async () => {
  await h.page.keyboard.press('i'); // nearest interpolation (shows the original layer's pixels as blocks)
  assert.equal(await inApp(h.page, 'app.stack.smooth'), false);
  await h.page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
  const base = await viewPixels(h.page); // SR only, at 8x
  await h.page.selectOption('#compare-a', 'sr');
  await h.page.selectOption('#compare-b', 'original');
  await h.page.click('#compare-toggle');
  await waitLayerLoaded(h.page, 'original');
  const split = await viewPixels(h.page);
  const left = { x0: 0.05, y0: 0.1, x1: 0.45, y1: 0.9 };
  const right = { x0: 0.55, y0: 0.1, x1: 0.95, y1: 0.9 };
  const leftDiff = meanAbsDiff(base, split, left);
  assert.ok(leftDiff < 0.05, `left of the split: still the SR layer (mean |diff| ${leftDiff.toFixed(3)})`);
  const rightDiff = meanAbsDiff(base, split, right);
  assert.ok(rightDiff > 0.3, `right of the split: the original layer (mean |diff| ${rightDiff.toFixed(3)})`);

  // Drag the split handle from the middle to a quarter of the view.
  const view = (await h.page.locator('#view').boundingBox())!;
  const grip = (await h.page.locator('#split .split-grip').boundingBox())!;
  await h.page.mouse.move(grip.x + grip.width / 2, grip.y + grip.height / 2);
  await h.page.mouse.down();
  await h.page.mouse.move(view.x + view.width * 0.25, grip.y + grip.height / 2, { steps: 5 });
  await h.page.mouse.up();
  await h.page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
  const moved = await viewPixels(h.page);
  const band = { x0: 0.3, y0: 0.1, x1: 0.45, y1: 0.9 };
  assert.ok(meanAbsDiff(split, moved, band) > 0.3, 'the band the split moved over now shows the original');
  assert.ok(meanAbsDiff(split, moved, { x0: 0.03, y0: 0.1, x1: 0.2, y1: 0.9 }) < 0.05, 'left of both positions: unchanged');
  await h.page.keyboard.press('c'); // split off
  await h.page.keyboard.press('i'); // smooth again
  assert.equal(await inApp(h.page, 'app.stack.compare === undefined'), true);

  // Raise the lower contrast limit: everything below it turns black, the view darkens.
  const plain = await viewPixels(h.page);
  await h.page.locator('#contrast-min').fill('600');
  await h.page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
  const contrasted = await viewPixels(h.page);
  assert.ok(
    meanGrey(contrasted) < meanGrey(plain) - 10,
    `darker after raising min (${meanGrey(plain).toFixed(1)} -> ${meanGrey(contrasted).toFixed(1)})`,
  );
  await h.page.click('#auto-contrast');
  const auto = await inApp<{ min: number; max: number }>(h.page, 'app.display.settings');
  assert.ok(auto.min < auto.max, 'auto-contrast sets ordered limits');
  await h.page.click('#reset-contrast');
  const reset = await viewPixels(h.page);
  assert.ok(meanAbsDiff(plain, reset) < 0.05, 'reset restores the full range');
});

test('a drawn region exports as a super-resolved TIFF with its pixel size (export-region on the server)', async () => {
  await inApp(h.page, '(app.stack.set("sr", { visible: false }), true)'); // no model tiles to wait behind
  await goTo(h.page, SPOT.x, SPOT.y, 4);
  const view = (await h.page.locator('#view').boundingBox())!;
  await h.page.keyboard.press('r');
  await h.page.mouse.move(view.x + view.width * 0.4, view.y + view.height * 0.4);
  await h.page.mouse.down();
  await h.page.mouse.move(view.x + view.width * 0.5, view.y + view.height * 0.5, { steps: 4 });
  await h.page.mouse.up();
  assert.equal(await h.page.inputValue('#export-region'), 'drawn');
  assert.ok(await h.page.locator('#region-box').isVisible(), 'the region is outlined');
  await h.page.selectOption('#export-scale', '2');
  const [download] = await Promise.all([h.page.waitForEvent('download', { timeout: 120_000 }), h.page.click('#export-button')]);
  const file = path.join(tempDir('phasesr-export-'), download.suggestedFilename());
  await download.saveAs(file);
  const src = await ImageSource.open(file);
  try {
    const expectW = Math.round((view.width * 0.1) / 4),
      expectH = Math.round((view.height * 0.1) / 4);
    assert.ok(
      Math.abs(src.width - 2 * expectW) <= 4 && Math.abs(src.height - 2 * expectH) <= 4,
      `x2 of the ${expectW}x${expectH} region, got ${src.width}x${src.height}`,
    );
    assert.equal(src.dtype, 'uint16');
    assert.ok(src.pixelSize && Math.abs(src.pixelSize.x - 0.87 / 2) < 1e-3, `pixel size halved: ${JSON.stringify(src.pixelSize)}`);
  } finally {
    await src.close();
  }
  assert.match((await h.page.textContent('#export-status'))!, /^saved .*\.tif: \d+×\d+ uint16, 0\.435 µm\/px$/);
});

test('keys 0, + and - navigate after a button click; ? lists them', async () => {
  await h.page.click('#auto-contrast'); // the button keeps the focus, not the view
  const zoom = (): Promise<number> => inApp<number>(h.page, 'app.viewer.viewport.getZoom(false)');
  const home = await inApp<number>(h.page, 'app.viewer.viewport.getHomeZoom()');
  const z0 = await zoom();
  await h.page.keyboard.press('+');
  assert.ok((await zoom()) > z0 * 1.1, `+ zooms in (${z0} -> ${await zoom()})`);
  await h.page.keyboard.press('-');
  await h.page.keyboard.press('-');
  assert.ok((await zoom()) < z0 * 0.9, `- zooms out (${z0} -> ${await zoom()})`);
  await h.page.keyboard.press('0');
  assert.ok(Math.abs((await zoom()) - home) < 1e-9, '0 goes home');
  const c0 = await inApp<{ x: number }>(h.page, 'app.viewer.viewport.getCenter(false)');
  await h.page.keyboard.press('ArrowRight');
  assert.ok((await inApp<{ x: number }>(h.page, 'app.viewer.viewport.getCenter(false)')).x > c0.x, 'arrow right pans');
  await h.page.keyboard.press('0');
  await h.page.click('#help-button');
  const help = (await h.page.textContent('#help-keys'))!;
  for (const k of ['pan left', 'pan right', 'zoom in', 'zoom out', 'whole image (home)', '↑ or W', '0'])
    assert.ok(help.includes(k), `help lists ${k}`);
  await h.page.keyboard.press('Escape');
});

test('"Server path…" is a dialog listing the allowed folders; a large image\'s numbers fit the Image panel', async () => {
  // 16000 x 16000 (a tiled, deflated TIFF of one grey: 1 MB on disk); its size once read "16000 × 1600" in the panel.
  // It lies in the server's exchange folder, the one folder allowed by default.
  const exchange = h.server.store.exchange.path;
  const file = path.join(exchange, 'large.tif');
  await sharp({ create: { width: 16000, height: 16000, channels: 3, background: { r: 90, g: 90, b: 90 } } })
    .toColourspace('b-w')
    .tiff({ tile: true, tileWidth: 256, tileHeight: 256, compression: 'deflate' })
    .toFile(file);
  await h.page.click('#open-button');
  await h.page.click('#path-button');
  assert.ok(await h.page.locator('#path-dialog').isVisible(), 'the dialog opens');
  await h.page.waitForSelector('#path-folders button');
  const folders = await h.page.locator('#path-folders button').allTextContents();
  assert.equal(folders[0], `${exchange}/`, `the exchange folder is listed first: ${folders.join(', ')}`);
  assert.ok(!folders.includes(`${await realpath(os.tmpdir())}/`), `the OS temp folder is not allowed: ${folders.join(', ')}`);
  await h.page.fill('#path-input', '/etc/passwd');
  await h.page.click('#path-open');
  await h.page.waitForFunction('document.getElementById("path-error").textContent !== ""');
  assert.match((await h.page.textContent('#path-error'))!, /^SR_ERR_PATH_FORBIDDEN: /);
  assert.ok(await h.page.locator('#path-dialog').isVisible(), 'a refusal keeps the dialog open');
  // The browser logs the refused request (403) as a console error: that one was asked for.
  const i = h.errors.findIndex((e) => /status of 403/.test(e));
  if (i >= 0) h.errors.splice(i, 1);
  await h.page.click(`#path-folders button:text-is("${exchange}/")`);
  assert.equal(await h.page.inputValue('#path-input'), `${exchange}/`);
  await h.page.fill('#path-input', await realpath(file));
  await h.page.click('#path-open');
  await waitApp(h.page, 'app.stack.image && app.stack.image.name === "large.tif"', 120_000);
  assert.equal(await h.page.locator('#path-dialog').isVisible(), false);
  // Every cell inside the section's content box (a panel scrollbar, when there is one, takes its padding).
  const overflow = await h.page.evaluate(
    `(() => {
    const sec = document.getElementById('image-info').closest('section');
    const right = sec.getBoundingClientRect().left + sec.clientWidth - parseFloat(getComputedStyle(sec).paddingRight);
    return [...document.querySelectorAll('#image-info td')].filter((td) => td.scrollWidth > td.clientWidth + 1 || ` +
      `td.getBoundingClientRect().right > right + 0.5).map((td) => td.textContent);
  })()`,
  );
  assert.deepEqual(overflow, [], 'no Image panel cell is clipped');
  assert.match((await h.page.textContent('#image-info'))!, /16000 × 16000/);
  // Close it (its overview tiles read much of 256 megapixels) and show the sample again for the next tests.
  const large = h.server.store.list().find((i) => i.name === 'large.tif')!;
  const sample = h.server.store
    .list()
    .find((i) => i.name === 'sample.tif')!
    .info();
  await inApp(h.page, `(app.openImage(${JSON.stringify(sample)}), true)`);
  assert.equal((await fetch(`${h.url}/api/v1/images/${large.id}`, { method: 'DELETE' })).status, 204);
});

test("a file from disk uploads and opens, with the plugin's layers", async () => {
  const file = path.join(tempDir('phasesr-upload-'), 'upload-test.png');
  const w = 320,
    hgt = 240;
  const px = Buffer.alloc(w * hgt);
  for (let y = 0; y < hgt; y++) for (let x = 0; x < w; x++) px[y * w + x] = 128 + Math.round(100 * Math.sin(x / 9) * Math.cos(y / 13));
  await sharp(px, { raw: { width: w, height: hgt, channels: 1 } })
    .png()
    .toFile(file);
  await h.page.setInputFiles('#file-input', file);
  await waitApp(h.page, 'app.stack.image && app.stack.image.name === "upload-test.png"', 60_000);
  assert.deepEqual(await inApp(h.page, 'app.stack.layers().map((l) => l.id)'), ['original', 'bicubic', 'sr']);
  await goTo(h.page, 160, 120, 1);
  await waitLayerLoaded(h.page, 'original');
  assert.ok(greyStd(await viewPixels(h.page)) > 10, 'the uploaded image is drawn');
  const listed = (await (await fetch(`${h.url}/api/v1/images`)).json()) as { name: string }[];
  assert.ok(
    listed.some((i) => i.name === 'upload-test.png'),
    'the server has it open',
  );
  assert.match((await h.page.textContent('#image-name'))!, /upload-test\.png · 320 × 240 uint8/);
  assert.deepEqual(h.errors, []);
});

/** The columns x0..x1 (fractions of the width) of a view grab, rows 10..75 % (above the navigator and scale bar). */
function crop(a: { width: number; height: number; grey: Float32Array }, x0: number, x1: number): { grey: Float32Array } {
  const out: number[] = [];
  for (let y = Math.floor(0.1 * a.height); y < Math.floor(0.75 * a.height); y++) {
    for (let x = Math.floor(x0 * a.width); x < Math.floor(x1 * a.width); x++) out.push(a.grey[y * a.width + x]!);
  }
  return { grey: Float32Array.from(out) };
}

test('16-bit display: auto-contrast on a background-heavy 8x view maps the raw samples (many grey levels, not ~30)', async () => {
  // The flattest 64x44 native window of the sample: background with its noise.
  const src = await ImageSource.open(h.server.store.list().find((i) => i.name === 'sample.tif')!.source.path);
  let best = { x: 0, y: 0, std: Infinity };
  try {
    for (let y = 0; y + 44 <= H; y += 40) {
      for (let x = 0; x + 64 <= W; x += 40) {
        const px = await src.readRegion(x, y, 64, 44);
        let m = 0,
          s = 0;
        for (const v of px) m += v;
        m /= px.length;
        for (const v of px) s += (v - m) ** 2;
        if (Math.sqrt(s / px.length) < best.std) best = { x, y, std: Math.sqrt(s / px.length) };
      }
    }
  } finally {
    await src.close();
  }
  const sample = h.server.store
    .list()
    .find((i) => i.name === 'sample.tif')!
    .info();
  await inApp(h.page, `(app.openImage(${JSON.stringify(sample)}), true)`); // the sample again, its default display
  await inApp(h.page, '(app.stack.set("sr", { visible: false }), app.stack.setSmooth(false), true)'); // native pixels as blocks
  await goTo(h.page, best.x + 32, best.y + 22, 8);
  await waitLayerLoaded(h.page, 'original');
  await h.page.keyboard.press('a');
  await h.page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
  const shot = await viewPixels(h.page);
  const levels = new Set<number>();
  const x0 = Math.floor(shot.width / 2 - 250),
    y0 = Math.floor(shot.height / 2 - 175);
  for (let y = y0; y < y0 + 350; y++) for (let x = x0; x < x0 + 500; x++) levels.add(shot.rgb[3 * (y * shot.width + x)]!);
  assert.ok(
    levels.size > 60,
    `a 500x350 crop shows ${levels.size} grey levels after auto-contrast (grey std of the window ${best.std.toFixed(1)})`,
  );
  await inApp(h.page, '(app.stack.set("sr", { visible: true }), app.stack.setSmooth(true), true)');
});

test('an image with saturated pixels opens with limits that ignore them (not washed out)', async () => {
  const w = 512,
    hgt = 384;
  const px = new Uint16Array(w * hgt);
  for (let y = 0; y < hgt; y++) {
    for (let x = 0; x < w; x++)
      px[y * w + x] = Math.round(3000 + 1500 * Math.sin(x / 11) * Math.cos(y / 17) + 40 * Math.sin(x * 7.3 + y * 3.1));
  }
  for (let y = 0; y < 80; y++) for (let x = 0; x < 80; x++) px[y * w + x] = 65535; // 3 % saturated: their 99.9th percentile is 65535
  const file = path.join(tempDir('phasesr-saturated-'), 'saturated.tif');
  await writeImage(file, { width: w, height: hgt, dtype: 'uint16', data: px });
  const info = (await (
    await fetch(`${h.url}/api/v1/images/open`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ path: file }),
    })
  ).json()) as { percentiles: { high: number }; displayRange: { high: number } };
  assert.equal(info.percentiles.high, 65535);
  assert.ok(info.displayRange.high < 5000, `default display limit below the saturated value (${info.displayRange.high})`);
  await inApp(h.page, `(app.openImage(${JSON.stringify(info)}), true)`);
  await waitLayerLoaded(h.page, 'original');
  assert.ok((await inApp<number>(h.page, 'app.display.settings.max')) < 5000);
  const shot = await viewPixels(h.page);
  const away = { x0: 0.45, y0: 0.45, x1: 0.9, y1: 0.9 }; // the sine pattern, away from the saturated corner
  const grey = greyStd(cropRect(shot, away));
  assert.ok(grey > 40, `the pattern spans the display (grey std ${grey.toFixed(1)}; washed out it was a few levels)`);
});

function cropRect(
  a: { width: number; height: number; grey: Float32Array },
  r: { x0: number; y0: number; x1: number; y1: number },
): { grey: Float32Array } {
  const out: number[] = [];
  for (let y = Math.floor(r.y0 * a.height); y < Math.floor(r.y1 * a.height); y++)
    for (let x = Math.floor(r.x0 * a.width); x < Math.floor(r.x1 * a.width); x++) out.push(a.grey[y * a.width + x]!);
  return { grey: Float32Array.from(out) };
}
