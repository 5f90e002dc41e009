// GET /: the viewer (viewer/dist, when built), else a plain page listing the open images with links to their
// descriptors and DZI files; that list is always at GET /list.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import express, { type Express } from 'express';

import type { ServerContext } from '../context';

export const VIEWER_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'viewer', 'dist');

export function mountIndex(app: Express, ctx: ServerContext): void {
  const viewer = existsSync(path.join(VIEWER_DIST, 'index.html'));
  if (viewer) app.use(express.static(VIEWER_DIST, { index: 'index.html' }));
  app.get(viewer ? ['/list'] : ['/', '/list'], (_req, res) => {
    const rows = ctx.store.listed().map((img) => {
      const i = img.info();
      return (
        `<li><b>${esc(i.name)}</b> ${i.width}x${i.height} ${i.dtype} (id ${i.imageId}, levels 0..${i.maxLevel}, native ${i.nativeLevel}): ` +
        `<a href="${i.descriptorUrl}">descriptor</a>, <a href="${i.dziUrl}">sr.dzi</a>, <a href="/api/v1/images/${i.imageId}/bicubic.dzi">bicubic.dzi</a></li>`
      );
    });
    res.type('html').send(`<!doctype html><meta charset="utf-8"><title>phasesr</title>
<h1>phasesr tile server</h1>
<p>Model: ${esc(ctx.model.config.name)} ${ctx.model.config.scale}x${ctx.model.provenance.trained ? '' : ' (UNTRAINED)'}.\
 ${viewer ? '<a href="/">Viewer</a>.' : 'The web viewer is not built (viewer/dist).'} Protocol: docs/protocol.md.</p>
<ul>${rows.join('\n') || '<li>no images open</li>'}</ul>
<p><a href="/health">/health</a> · <a href="/api/v1/images">/api/v1/images</a></p>`);
  });
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
