// Read-only OME-Zarr (OME-NGFF 0.4, Zarr v2) view of every open image at /zarr/<imageId>.zarr/, so napari,
// vizarr and any zarr client can browse it, SR levels included. Chunks are the raw (u16/f32) tiles from the
// tile service: the same queue, caches and dedupe as WebSocket tiles, computed on demand. Keys a zarr
// store does not hold answer 404, which zarr clients read as "absent" (e.g. an array's own .zattrs).
import express, { type Express, type Request, type Response } from 'express';

import type { ServerContext } from '../context';
import { ServerError } from '../errors';
import type { ServedImage } from '../images/served-image';
import { arrayMetadata, groupAttributes, zarrDatasets, zarrDtype } from '../zarr/ome-zarr-layout';
import { httpClient } from './security';

export const ZARR_PREFIX = '/zarr';

export function mountZarrRoutes(app: Express, ctx: ServerContext): void {
  const zarr = express.Router();

  zarr.get('/:store/.zgroup', (req, res) => {
    storeImage(ctx, req);
    sendJson(res, { zarr_format: 2 });
  });

  zarr.get('/:store/.zattrs', (req, res) => {
    const img = storeImage(ctx, req);
    sendJson(res, groupAttributes(img.info(), img.pyramid, ctx.model.config.name));
  });

  zarr.get('/:store/:dataset/.zarray', (req, res) => {
    const img = storeImage(ctx, req);
    sendJson(res, arrayMetadata(dataset(img, req), img.pyramid.tileSize, zarrDtype(img.source.dtype)));
  });

  zarr.get('/:store/:dataset/:cy/:cx', async (req: Request, res: Response) => {
    const img = storeImage(ctx, req);
    const d = dataset(img, req);
    const cy = chunkIndex(String(req.params.cy)),
      cx = chunkIndex(String(req.params.cx));
    if (cy === undefined || cx === undefined) throw notInStore(req);
    const encoding = zarrDtype(img.source.dtype) === '<f4' ? 'f32' : 'u16';
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const tile = await ctx.tiles.tile(img, 'sr', d.level, cx, cy, encoding, {
      waiter: { visible: true, seq: ctx.nextSeq(), client: httpClient(req) },
      signal: abort.signal,
    });
    const T = img.pyramid.tileSize;
    const bytes = encoding === 'f32' ? 4 : 2;
    let body = Buffer.from(tile.payload.buffer, tile.payload.byteOffset, tile.payload.byteLength);
    if (tile.width !== T || tile.height !== T) {
      // Zarr v2 chunks are all full-size: an edge tile is padded with the fill value (0).
      const full = Buffer.alloc(T * T * bytes);
      for (let r = 0; r < tile.height; r++) body.copy(full, r * T * bytes, r * tile.width * bytes, (r + 1) * tile.width * bytes);
      body = full;
    }
    res.set({ 'Content-Type': 'application/octet-stream', 'Cache-Control': 'private, max-age=3600' });
    res.end(body);
  });

  zarr.use((req: Request) => {
    throw notInStore(req);
  });
  app.use(ZARR_PREFIX, zarr);
}

/** The open image named by `<imageId>.zarr`. @throws SR_ERR_NOT_FOUND */
function storeImage(ctx: ServerContext, req: Request): ServedImage {
  const m = /^(.+)\.zarr$/.exec(String(req.params.store));
  if (!m) throw notInStore(req);
  return ctx.store.get(m[1]!);
}

function dataset(img: ServedImage, req: Request): ReturnType<typeof zarrDatasets>[number] {
  const d = zarrDatasets(img.pyramid).find((x) => x.path === req.params.dataset);
  if (!d) throw notInStore(req);
  return d;
}

function chunkIndex(s: string): number | undefined {
  return /^\d{1,9}$/.test(s) ? Number(s) : undefined;
}

function notInStore(req: Request): ServerError {
  return new ServerError('SR_ERR_NOT_FOUND', `no zarr key ${req.baseUrl}${req.path}`);
}

function sendJson(res: Response, body: object): void {
  res.type('application/json').send(JSON.stringify(body));
}
