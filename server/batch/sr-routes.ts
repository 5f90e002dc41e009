// The HTTP one-shot endpoint (for the Fiji bridge and curl): super-resolve a server-side file inside the
// allowed folders (GET ?path=) or the request body (POST), answer where the result TIFF can be downloaded.
//   GET  /api/v1/sr?path=/tmp/x.tif&scale=8[&model=lite][&float32=1][&pixelSize=0.65][&format=json|text]
//   POST /api/v1/sr?name=x.tif&scale=8[...]      body: the image file
//   ->   {url: "/api/v1/results/<id>.tif", absoluteUrl, width, height, dtype, pixelSize|null, scale, bytes, ms}
//   GET  /api/v1/results/<id>.tif                 the TIFF (image/tiff), until it expires
// format=text answers one line an ImageJ macro can parse: the absolute URL, or `error: SR_ERR_...: message`
// with status 200, because ImageJ's File.openUrlAsString returns no body for an HTTP error status.
import path from 'node:path';

import type { Express, Request, Response } from 'express';

import { ServerError, toWireError } from '../errors';
import type { AllowedPaths } from '../images/allowed-paths';
import { UploadFile } from '../images/upload-file';
import type { ResultStore } from './result-store';
import { RESULT_ID } from './result-store';
import { resultName } from './batch-handler';
import type { SrJobs } from './sr-job';

export interface SrRoutesOptions {
  jobs: SrJobs;
  results: ResultStore;
  allowed: AllowedPaths;
  maxUploadBytes: number;
  modelScale: number;
  log: (line: string) => void;
}

export const SR_PATH = '/api/v1/sr';
export const RESULTS_PATH = '/api/v1/results';

export function mountSrRoutes(app: Express, o: SrRoutesOptions): void {
  app.get(SR_PATH, (req, res) => answer(req, res, o, async (signal) => {
    const p = queryString(req, 'path');
    if (!p) throw new ServerError('SR_ERR_USAGE', 'path is required: GET /api/v1/sr?path=/absolute/file.tif&scale=8');
    const file = await o.allowed.resolve(p);
    return { input: file, name: p, signal };
  }));

  app.post(SR_PATH, (req, res) => answer(req, res, o, async (signal) => {
    const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
    const up = await UploadFile.create(o.jobs.workDir, queryString(req, 'name') ?? 'upload.tif', declared, o.maxUploadBytes);
    try {
      signal.throwIfAborted();
      await up.writeStream(req);
      const done = await up.finish();
      return { input: done.path, name: queryString(req, 'name') ?? 'upload.tif', uploaded: true, signal, cleanup: () => up.abort() };
    } catch (e) {
      await up.abort();
      throw e;
    }
  }));

  app.get(`${RESULTS_PATH}/:file`, async (req, res) => {
    const m = /^([0-9a-f]+)\.tiff?$/.exec(String(req.params.file));
    const r = m && RESULT_ID.test(m[1]!) ? await o.results.get(m[1]!) : undefined;
    if (!r) throw new ServerError('SR_ERR_NOT_FOUND', `no result ${req.params.file} (results expire; ask /api/v1/sr again)`);
    res.setHeader('Content-Disposition', `attachment; filename="${r.name.replace(/[^\w.-]/g, '_')}"`);
    await new Promise<void>((resolve, reject) => res.sendFile(r.path, { headers: { 'Content-Type': 'image/tiff' } }, (e) => (e && !res.headersSent ? reject(e) : resolve())));
  });
}

interface SrInput {
  input: string;
  name: string;
  signal: AbortSignal;
  /** The input is a temp copy: errors name it by `name`. */
  uploaded?: boolean;
  cleanup?: () => Promise<void>;
}

async function answer(req: Request, res: Response, o: SrRoutesOptions, getInput: (signal: AbortSignal) => Promise<SrInput>): Promise<void> {
  const text = queryString(req, 'format') === 'text';
  // A page on another site could make a browser send this GET (an <img src>): it starts work, so refuse it.
  const site = req.headers['sec-fetch-site'];
  const stop = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) stop.abort(new ServerError('SR_ERR_CANCELLED', 'the client went away'));
  });
  let input: SrInput | undefined;
  try {
    if (site === 'cross-site' || site === 'same-site') throw new ServerError('SR_ERR_ORIGIN', 'the one-shot endpoint is not for pages of other sites');
    const params = parseParams(req, o.modelScale);
    input = await getInput(stop.signal);
    const r = await o.jobs.run({ ...params, input: input.input, signal: stop.signal, ...(input.uploaded ? { displayName: path.basename(input.name) } : {}) });
    const stored = await o.results.add(r.path, resultName(input.name, params.scale));
    const url = `${RESULTS_PATH}/${stored.id}.tif`;
    const token = queryString(req, 'token');
    const absoluteUrl = `${req.protocol}://${req.headers.host}${url}${token ? `?token=${encodeURIComponent(token)}` : ''}`;
    if (text) return void res.type('text/plain').send(`${absoluteUrl}\n`);
    res.json({ url, absoluteUrl, width: r.width, height: r.height, dtype: r.dtype, pixelSize: r.pixelSize ?? null, scale: params.scale, bytes: stored.bytes, ms: Math.round(r.ms) });
  } catch (e) {
    const w = toWireError(e);
    if (w.internal) o.log(`${req.method} ${SR_PATH}: ${(e as Error)?.stack ?? String(e)}`);
    if (res.headersSent || stop.signal.aborted) return;
    if (text) return void res.type('text/plain').send(`error: ${w.code}: ${w.message}\n`);
    res.status(new ServerError(w.code, w.message).status).json({ error: { code: w.code, message: w.message } });
  } finally {
    await input?.cleanup?.();
  }
}

function parseParams(req: Request, modelScale: number): { scale: 2 | 4 | 8; model?: string; float32: boolean; pixelSizeUm?: number } {
  const s = queryString(req, 'scale');
  const scale = s === undefined ? modelScale : Number(s);
  if (scale !== 2 && scale !== 4 && scale !== 8) throw new ServerError('SR_ERR_USAGE', `scale must be 2, 4 or 8, got ${JSON.stringify(s)}`);
  const f = queryString(req, 'float32');
  const px = queryString(req, 'pixelSize');
  const pixelSizeUm = px === undefined ? undefined : Number(px);
  if (pixelSizeUm !== undefined && !(Number.isFinite(pixelSizeUm) && pixelSizeUm > 0)) throw new ServerError('SR_ERR_USAGE', `pixelSize must be a number > 0 (µm), got ${JSON.stringify(px)}`);
  const model = queryString(req, 'model');
  const format = queryString(req, 'format');
  if (format !== undefined && format !== 'json' && format !== 'text') throw new ServerError('SR_ERR_USAGE', `format must be json or text, got ${JSON.stringify(format)}`);
  return { scale, float32: f === '1' || f === 'true', ...(model ? { model } : {}), ...(pixelSizeUm ? { pixelSizeUm } : {}) };
}

function queryString(req: Request, name: string): string | undefined {
  const v = req.query[name];
  return typeof v === 'string' ? v : undefined;
}
