// REST for images and tiles (docs/protocol.md): list, info, upload (streamed body), open by path, close,
// the deep-zoom descriptor (JSON and DZI XML for OpenSeadragon) and single tiles. The HTTP tile route goes
// through the same tile service as the WebSocket (same queue, caches and dedupe); a closed request cancels.
import express, { type Express, type Request, type Response } from 'express';

import type { ServerContext } from '../context';
import { invalidParam, ServerError } from '../errors';
import { UploadFile } from '../images/upload-file';
import { ENCODINGS, LAYERS, type Encoding, type Layer } from '../protocol';
import { contentType } from '../tiles/encode';
import { httpClient } from './security';

export function mountImageRoutes(app: Express, ctx: ServerContext): void {
  const { store, tiles, options } = ctx;
  const api = express.Router();

  // Other clients' WebSocket uploads are not listed (docs/security.md: what a client may see).
  api.get('/images', (_req, res) => void res.json(store.listed().map((i) => i.info())));

  // The folders `open` by path accepts, the exchange folder first (the viewer's "Server path" dialog lists
  // them; the Fiji macro reads the first line of format=text, since its URL reader cannot parse JSON).
  api.get('/folders', (req, res) => {
    if (req.query.format === 'text') res.type('text/plain').send(`${store.allowed.roots.join('\n')}\n`);
    else res.json({ exchange: store.exchange.path, folders: store.allowed.roots });
  });

  api.post('/images', async (req: Request, res: Response) => {
    const name = typeof req.query.name === 'string' && req.query.name ? req.query.name : 'upload';
    const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
    const up = await UploadFile.create(store.uploadDir, name, declared, options.maxUploadBytes, {
      slots: store.uploads,
      client: httpClient(req),
    });
    let done;
    try {
      await up.writeStream(req);
      done = await up.finish();
    } catch (e) {
      await up.abort();
      req.resume(); // drain what the client still sends, so the error response reaches it
      throw e;
    }
    const img = await store.openUpload(done, name, { rest: true });
    res.status(201).json(img.info());
  });

  api.post('/images/open', express.json({ limit: '64kb' }), async (req: Request, res: Response) => {
    const p = (req.body as { path?: unknown } | undefined)?.path;
    if (typeof p !== 'string' || p === '') throw invalidParam('path', 'an absolute file path', p);
    const img = await store.openPath(p, { rest: true });
    res.json(img.info());
  });

  api.get('/images/:id', (req, res) => void res.json(store.get(req.params.id).info()));

  api.delete('/images/:id', async (req, res) => {
    const img = store.get(req.params.id);
    tiles.dropImage(img);
    await store.remove(img.id);
    res.status(204).end();
  });

  api.get('/images/:id/descriptor.json', (req, res) => {
    const img = store.get(req.params.id);
    const p = img.pyramid;
    const top = p.levels[p.maxLevel]!;
    const base = `/api/v1/images/${img.id}`;
    res.json({
      imageId: img.id,
      width: top.width,
      height: top.height,
      tileSize: p.tileSize,
      overlap: 0,
      minLevel: 0,
      maxLevel: p.maxLevel,
      nativeLevel: p.nativeLevel,
      nativeWidth: img.width,
      nativeHeight: img.height,
      pixelSize: img.source.pixelSize ?? null,
      levels: p.levels,
      layers: [...LAYERS],
      encodings: [...ENCODINGS],
      percentiles: img.percentiles,
      tileUrl: `${base}/{layer}_files/{level}/{x}_{y}.{encoding}`,
      dzi: Object.fromEntries(LAYERS.map((l) => [l, `${base}/${l}.dzi`])),
    });
  });

  api.get('/images/:id/:dzi', (req, res) => {
    const m = /^(\w+)\.dzi$/.exec(req.params.dzi);
    const layer = m?.[1];
    if (!layer || !isLayer(layer)) throw new ServerError('SR_ERR_NOT_FOUND', `no route ${req.path}`);
    const img = store.get(req.params.id);
    const top = img.pyramid.levels[img.pyramid.maxLevel]!;
    res
      .type('application/xml')
      .send(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Image xmlns="http://schemas.microsoft.com/deepzoom/2008" Format="png" ` +
          `Overlap="0" TileSize="${img.pyramid.tileSize}">` +
          `<Size Width="${top.width}" Height="${top.height}"/></Image>\n`,
      );
  });

  api.get('/images/:id/:files/:level/:tile', async (req: Request, res: Response) => {
    const layer = /^(\w+)_files$/.exec(String(req.params.files))?.[1];
    const t = /^(\d+)_(\d+)\.(\w+)$/.exec(String(req.params.tile));
    const level = Number(req.params.level);
    if (!layer || !isLayer(layer)) throw invalidParam('layer', LAYERS.map((l) => `${l}_files`).join(' or '), req.params.files);
    if (!t || !Number.isInteger(level)) throw invalidParam('tile', 'LEVEL/X_Y.png|u16|f32', `${req.params.level}/${req.params.tile}`);
    const encoding = t[3]!;
    if (!isEncoding(encoding)) throw invalidParam('encoding', ENCODINGS.join(', '), encoding);
    const img = store.get(String(req.params.id));
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const tile = await tiles.tile(img, layer, level, Number(t[1]), Number(t[2]), encoding, {
      waiter: { visible: true, seq: ctx.nextSeq(), client: httpClient(req) },
      signal: abort.signal,
    });
    res.set({
      'Content-Type': contentType(encoding),
      'X-Tile-Width': String(tile.width),
      'X-Tile-Height': String(tile.height),
      'Cache-Control': 'private, max-age=3600',
    });
    res.end(Buffer.from(tile.payload.buffer, tile.payload.byteOffset, tile.payload.byteLength));
  });

  app.use('/api/v1', api);
}

function isLayer(s: string): s is Layer {
  return (LAYERS as readonly string[]).includes(s);
}

function isEncoding(s: string): s is Encoding {
  return (ENCODINGS as readonly string[]).includes(s);
}
