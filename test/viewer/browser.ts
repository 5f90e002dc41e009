// Real-browser harness for the viewer tests: the viewer built with esbuild, the tile server in-process on
// 127.0.0.1 port 0 (shipped lite model, a small generated sample), and Debian's headless Chromium driven by
// playwright-core with a fresh profile. Every page console error and page error is collected.
import path from 'node:path';

import { chromium, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';

import { writeSampleFile } from '../../models/sample/sample-file';
import { PhasesrServer } from '../../server';
import { buildViewer } from '../../viewer/build';
import { tempDir, testTempRoot } from '../helpers/shared';

export const CHROMIUM = process.env.PHASESR_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

export interface ViewerHarness {
  server: PhasesrServer;
  url: string;
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors seen so far. */
  errors: string[];
  close(): Promise<void>;
}

export async function startViewer(
  opts: { width?: number; height?: number; images?: string[]; viewport?: { width: number; height: number }; model?: string } = {},
): Promise<ViewerHarness> {
  await buildViewer();
  const dir = tempDir('phasesr-viewer-');
  const sample = path.join(dir, 'sample.tif');
  await writeSampleFile(sample, { width: opts.width ?? 512, height: opts.height ?? 384, seed: 3 });
  // The test folders are allowed, as a user allows a data folder (--allow-dir).
  const server = await PhasesrServer.create({
    port: 0,
    host: '127.0.0.1',
    model: opts.model ?? 'lite',
    images: opts.images ?? [sample],
    allowDirs: [testTempRoot()],
    threads: 2,
    log: () => undefined,
  });
  const url = await server.listen();
  const context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: opts.viewport ?? { width: 1280, height: 720 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  // A loaded machine (CI, parallel work) can take well over 30 s for the first page load.
  await page.goto(`${url}/`, { timeout: 120_000 });
  await page.waitForFunction('document.body.dataset.ready !== undefined', undefined, { timeout: 60_000 });
  const ready = await page.evaluate('document.body.dataset.ready');
  if (ready !== 'true') throw new Error(`viewer did not start: ${await page.textContent('#status-message')} ${errors.join('; ')}`);
  return {
    server,
    url,
    context,
    page,
    errors,
    async close() {
      await context.close();
      // The page's socket is gone, so its queued tiles are cancelled; an engine call already running is let
      // finish before the engine is disposed.
      for (let i = 0; i < 600 && (server.tiles.queue.running > 0 || server.tiles.queue.queued > 0); i++)
        await new Promise((r) => setTimeout(r, 100));
      await server.close();
    },
  };
}

/** Runs `expr` (a JS expression over `window.phasesr.app`, named `app`) in the page. */
export function inApp<T>(page: Page, expr: string): Promise<T> {
  return page.evaluate(`(() => { const app = window.phasesr.app; return (${expr}); })()`) as Promise<T>;
}

/** Waits until a predicate over the app holds (polling in the page). */
export async function waitApp(page: Page, expr: string, timeout = 90_000): Promise<void> {
  await page.waitForFunction(`(() => { const app = window.phasesr && window.phasesr.app; return !!app && !!(${expr}); })()`, undefined, {
    timeout,
    polling: 200,
  });
}

/** The view's pixels as they are shown (filters included): grey = mean of RGB, row-major. */
export async function viewPixels(page: Page): Promise<{ width: number; height: number; grey: Float32Array; rgb: Uint8Array }> {
  const box = (await page.locator('#osd').boundingBox())!;
  const png = await page.screenshot({ clip: box });
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const grey = new Float32Array(info.width * info.height);
  for (let i = 0; i < grey.length; i++) grey[i] = (data[3 * i]! + data[3 * i + 1]! + data[3 * i + 2]!) / 3;
  return { width: info.width, height: info.height, grey, rgb: new Uint8Array(data) };
}

/** Mean absolute difference of two equally sized grey images over a rectangle (fractions of the size). */
export function meanAbsDiff(
  a: { width: number; height: number; grey: Float32Array },
  b: { grey: Float32Array },
  r = { x0: 0.1, y0: 0.1, x1: 0.9, y1: 0.9 },
): number {
  let s = 0,
    n = 0;
  for (let y = Math.floor(r.y0 * a.height); y < Math.floor(r.y1 * a.height); y++) {
    for (let x = Math.floor(r.x0 * a.width); x < Math.floor(r.x1 * a.width); x++) {
      s += Math.abs(a.grey[y * a.width + x]! - b.grey[y * a.width + x]!);
      n++;
    }
  }
  return s / n;
}

/** Standard deviation of grey values (a flat or empty view has ~0). */
export function greyStd(a: { grey: Float32Array }): number {
  let m = 0;
  for (const v of a.grey) m += v;
  m /= a.grey.length;
  let s = 0;
  for (const v of a.grey) s += (v - m) ** 2;
  return Math.sqrt(s / a.grey.length);
}

/** Moves the view at once: native pixel (x, y) at the centre, `scale` screen pixels per native pixel. */
export async function goTo(page: Page, x: number, y: number, scale: number): Promise<void> {
  await inApp(
    page,
    `(() => {
    const it = app.stack.item('original'), vp = app.viewer.viewport;
    vp.zoomTo(it.imageToViewportZoom(${scale}), null, true);
    vp.panTo(it.imageToViewportCoordinates(${x}, ${y}), true);
    return true;
  })()`,
  );
}

/** Waits until a layer's tiles for the current view are all drawn (OpenSeadragon's fully-loaded state). */
export async function waitLayerLoaded(page: Page, id: string, timeout = 150_000): Promise<void> {
  await waitApp(page, `app.stack.item(${JSON.stringify(id)}) && app.stack.item(${JSON.stringify(id)}).getFullyLoaded()`, timeout);
  await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Mean grey value over a rectangle (fractions of the size). */
export function meanGrey(a: { width: number; height: number; grey: Float32Array }, r = { x0: 0, y0: 0, x1: 1, y1: 1 }): number {
  let s = 0,
    n = 0;
  for (let y = Math.floor(r.y0 * a.height); y < Math.floor(r.y1 * a.height); y++) {
    for (let x = Math.floor(r.x0 * a.width); x < Math.floor(r.x1 * a.width); x++) {
      s += a.grey[y * a.width + x]!;
      n++;
    }
  }
  return s / n;
}
