// The viewer says what the server did to an image (here: an RGB PNG converted to grey), as `phasesr sr`
// prints it: real Chromium, real server on 127.0.0.1, the file opened as the user opens one (upload).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';

import sharp from 'sharp';

import { tempDir } from '../helpers/shared';
import { startViewer, waitApp, type ViewerHarness } from './browser';

let h: ViewerHarness;

before(async () => {
  h = await startViewer();
});

after(async () => {
  await h?.close();
});

test('an RGB upload opens with the grey-conversion warning in the status line', async () => {
  const file = path.join(tempDir('phasesr-rgb-'), 'colour-cells.png');
  const px = Buffer.alloc(64 * 48 * 3);
  for (let i = 0; i < 64 * 48; i++) px.set([(i * 7) % 256, (i * 3) % 256, 40], i * 3);
  await sharp(px, { raw: { width: 64, height: 48, channels: 3 } })
    .png()
    .toFile(file);
  await h.page.setInputFiles('#file-input', file);
  await waitApp(h.page, 'app.stack.image && app.stack.image.name === "colour-cells.png"', 60_000);
  assert.match(
    (await h.page.textContent('#status-message'))!,
    /^colour-cells\.png: warning: colour image converted to grey \(luma 0\.299 R/,
  );
  assert.deepEqual(h.errors, []);
});
