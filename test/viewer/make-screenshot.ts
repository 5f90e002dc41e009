// Makes the viewer screenshots in docs/screenshots/ (npm run viewer:screenshot), in headless Chromium on the
// 2048x2048 sample at an SR zoom, with the model `npm start` serves:
//   viewer-compare.png  "Compare with bicubic" clicked once on a fresh page: SR | bicubic;
//   viewer-sr.png       then the Compare panel set to SR | original (nearest, so its pixels show as blocks).
// Both show the default 16-bit display (limits that ignore saturated pixels, mapped in the browser).
// Not a test; run it by hand after changing how the viewer looks. Options: --x --y (native pixel at the
// centre), --scale, --model, --out-dir.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { DEFAULT_MODEL } from '../../models/registry';
import { writeSampleFile } from '../../models/sample/sample-file';
import { SAMPLE_FILE } from '../../server/http/viewer-routes';
import { ROOT } from '../helpers/shared';
import { goTo, inApp, startViewer, waitLayerLoaded } from './browser';

const { values } = parseArgs({
  options: {
    x: { type: 'string', default: '790' },
    y: { type: 'string', default: '1320' },
    scale: { type: 'string', default: '4' },
    model: { type: 'string', default: DEFAULT_MODEL },
    'out-dir': { type: 'string', default: path.join(ROOT, 'docs', 'screenshots') },
    width: { type: 'string', default: '1440' },
    height: { type: 'string', default: '860' },
  },
});
if (!existsSync(SAMPLE_FILE)) {
  mkdirSync(path.dirname(SAMPLE_FILE), { recursive: true });
  await writeSampleFile(SAMPLE_FILE, { width: 2048, height: 2048, seed: 1 });
}
mkdirSync(values['out-dir'], { recursive: true });
const h = await startViewer({
  images: [SAMPLE_FILE],
  model: values.model,
  viewport: { width: Number(values.width), height: Number(values.height) },
});
const shot = async (name: string): Promise<void> => {
  for (const id of await inApp<string[]>(h.page, 'app.stack.compare')) await waitLayerLoaded(h.page, id, 900_000);
  await inApp(h.page, '(app.display.refreshHistogram(), true)');
  const file = path.join(values['out-dir'], name);
  await h.page.screenshot({ path: file });
  process.stdout.write(`wrote ${file}\n`);
};
try {
  await goTo(h.page, Number(values.x), Number(values.y), Number(values.scale));
  await h.page.click('section[data-plugin="phasesr-sr"] button[data-role="compare"]');
  await shot('viewer-compare.png');
  await h.page.keyboard.press('i'); // nearest for the original
  await h.page.selectOption('#compare-b', 'original');
  await h.page.click('#layer-list li[data-layer="sr"]');
  await shot('viewer-sr.png');
} finally {
  await h.close();
}
