// Makes docs/screenshots/viewer-sr.png (npm run viewer:screenshot): the viewer on the 2048x2048 sample at
// an SR zoom, split view SR | original (nearest), in headless Chromium. Not a test; run it by hand after
// changing how the viewer looks. Options: --x --y (native pixel at the centre), --scale, --out.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { writeSampleFile } from '../../models/sample/sample-file';
import { SAMPLE_FILE } from '../../server/http/viewer-routes';
import { ROOT } from '../helpers/shared';
import { goTo, inApp, startViewer, waitLayerLoaded } from './browser';

const { values } = parseArgs({ options: {
  x: { type: 'string', default: '790' }, y: { type: 'string', default: '1320' }, scale: { type: 'string', default: '4' },
  out: { type: 'string', default: path.join(ROOT, 'docs', 'screenshots', 'viewer-sr.png') },
  width: { type: 'string', default: '1440' }, height: { type: 'string', default: '860' },
} });
if (!existsSync(SAMPLE_FILE)) {
  mkdirSync(path.dirname(SAMPLE_FILE), { recursive: true });
  await writeSampleFile(SAMPLE_FILE, { width: 2048, height: 2048, seed: 1 });
}
const h = await startViewer({ images: [SAMPLE_FILE], viewport: { width: Number(values.width), height: Number(values.height) } });
try {
  await goTo(h.page, Number(values.x), Number(values.y), Number(values.scale));
  await h.page.keyboard.press('i'); // nearest for the original: its pixels show as blocks beside the SR
  await h.page.selectOption('#compare-a', 'sr');
  await h.page.selectOption('#compare-b', 'original');
  await h.page.click('#compare-toggle');
  await h.page.click('#layer-list li[data-layer="sr"]');
  await waitLayerLoaded(h.page, 'sr', 600_000);
  await waitLayerLoaded(h.page, 'original');
  await inApp(h.page, '(app.display.refreshHistogram(), true)');
  mkdirSync(path.dirname(values.out), { recursive: true });
  await h.page.screenshot({ path: values.out });
  process.stdout.write(`wrote ${values.out}\n`);
} finally {
  await h.close();
}
