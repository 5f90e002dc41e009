// The HTTP one-shot endpoint (for the Fiji bridge and curl): super-resolve a server-side file inside the
// allowed folders (GET ?path=) or the request body (POST), answer where the result TIFF can be downloaded.
//   GET  /api/v1/sr?path=/data/x.tif&scale=8[&model=lite][&float32=1][&pixelSize=0.65][&format=json|text][&wait=0]
//   POST /api/v1/sr?name=x.tif&scale=8[...]      body: the image file
//   ->   {url: "/api/v1/results/<id>.tif", absoluteUrl, width, height, dtype, pixelSize|null, scale, bytes, ms, warnings}
//   wait=0 -> 202 {id, state, statusUrl, absoluteStatusUrl} at once; GET the status URL until state is done
//   GET  /api/v1/sr/jobs/<id>                     {id, state, done, total, warnings, (result fields) | error}
//   GET  /api/v1/results/<id>.tif                 the TIFF (image/tiff), until it expires
// Repeating a GET is safe: an identical request joins the job already computing or done (one-shot-jobs.ts).
// format=text answers lines an ImageJ macro can parse, with status 200 because ImageJ's File.openUrlAsString
// returns no body for an HTTP error status: the absolute URL, `job STATUS_URL` (wait=0), a status line
// (`queued`, `running DONE TOTAL`, `done URL`), or `error: SR_ERR_...: message`; then `warning: ...` lines.
import { stat } from 'node:fs/promises';
import path from 'node:path';

import type { Express, Request, Response } from 'express';

import { ServerError, toWireError } from '../errors';
import type { AllowedPaths } from '../images/allowed-paths';
import type { ClientSlots } from '../images/client-slots';
import { httpClient } from '../http/security';
import { UploadFile } from '../images/upload-file';
import { OneShotJobs, type OneShotJob } from './one-shot-jobs';
import type { ResultStore } from './result-store';
import { RESULT_ID } from './result-store';
import { resultName } from './batch-handler';
import type { SrJobs } from './sr-job';

export interface SrRoutesOptions {
  jobs: SrJobs;
  results: ResultStore;
  allowed: AllowedPaths;
  maxUploadBytes: number;
  /** Uploads in progress, shared with every other upload path. */
  uploads: ClientSlots;
  modelScale: number;
  log: (line: string) => void;
}

export const SR_PATH = '/api/v1/sr';
export const SR_JOBS_PATH = '/api/v1/sr/jobs';
export const RESULTS_PATH = '/api/v1/results';

/** What a finished one-shot job hands out (the URLs are made per request: host and token are the asker's). */
interface SrOutcome {
  resultId: string;
  width: number;
  height: number;
  dtype: string;
  pixelSize: { x: number; y: number; unit: string } | null;
  scale: number;
  bytes: number;
  ms: number;
  warnings: string[];
}

type SrParams = ReturnType<typeof parseParams>;

export function mountSrRoutes(app: Express, o: SrRoutesOptions): OneShotJobs<SrOutcome> {
  const oneShot = new OneShotJobs<SrOutcome>(async (r) => !!(await o.results.get(r.resultId)), o.log);

  app.get(SR_PATH, (req, res) =>
    answer(req, res, o, oneShot, async (signal) => {
      const p = queryString(req, 'path');
      if (!p) throw new ServerError('SR_ERR_USAGE', 'path is required: GET /api/v1/sr?path=/absolute/file.tif&scale=8');
      const file = await o.allowed.resolve(p);
      // What the job computes: this file as it is now (a rewritten file is a new job).
      const st = await stat(file).catch(() => undefined);
      return { input: file, name: p, signal, ...(st ? { key: `${file}\0${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}` } : {}) };
    }),
  );

  app.get(`${SR_JOBS_PATH}/:id`, (req, res) => {
    const job = RESULT_ID.test(String(req.params.id)) ? oneShot.poll(String(req.params.id)) : undefined;
    const text = queryString(req, 'format') === 'text';
    if (!job) {
      const e = new ServerError(
        'SR_ERR_NOT_FOUND',
        `no job ${req.params.id} (finished jobs are kept for ${oneShot.limits.keepMs / 60_000} minutes)`,
      );
      if (text) return void res.type('text/plain').send(`error: ${e.code}: ${e.message}\n`);
      throw e;
    }
    if (text) return void res.type('text/plain').send(statusText(req, job));
    res.json(statusJson(req, job));
  });

  app.post(SR_PATH, (req, res) =>
    answer(req, res, o, oneShot, async (signal) => {
      const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
      const up = await UploadFile.create(o.jobs.workDir, queryString(req, 'name') ?? 'upload.tif', declared, o.maxUploadBytes, {
        slots: o.uploads,
        client: httpClient(req),
      });
      try {
        signal.throwIfAborted();
        await up.writeStream(req);
        const done = await up.finish();
        return { input: done.path, name: queryString(req, 'name') ?? 'upload.tif', uploaded: true, signal, cleanup: () => up.abort() };
      } catch (e) {
        await up.abort();
        throw e;
      }
    }),
  );

  app.get(`${RESULTS_PATH}/:file`, async (req, res) => {
    const m = /^([0-9a-f]+)\.tiff?$/.exec(String(req.params.file));
    const r = m && RESULT_ID.test(m[1]!) ? await o.results.get(m[1]!) : undefined;
    if (!r) throw new ServerError('SR_ERR_NOT_FOUND', `no result ${req.params.file} (results expire; ask /api/v1/sr again)`);
    res.setHeader('Content-Disposition', `attachment; filename="${r.name.replace(/[^\w.-]/g, '_')}"`);
    await new Promise<void>((resolve, reject) =>
      res.sendFile(r.path, { headers: { 'Content-Type': 'image/tiff' } }, (e) => (e && !res.headersSent ? reject(e) : resolve())),
    );
  });
  return oneShot;
}

interface SrInput {
  input: string;
  name: string;
  signal: AbortSignal;
  /** What the job computes, for joining identical requests; none for uploads. */
  key?: string;
  /** The input is a temp copy: errors name it by `name`. */
  uploaded?: boolean;
  cleanup?: () => Promise<void>;
}

async function answer(
  req: Request,
  res: Response,
  o: SrRoutesOptions,
  oneShot: OneShotJobs<SrOutcome>,
  getInput: (signal: AbortSignal) => Promise<SrInput>,
): Promise<void> {
  const text = queryString(req, 'format') === 'text';
  const stop = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) stop.abort(new ServerError('SR_ERR_CANCELLED', 'the client went away'));
  });
  let input: SrInput | undefined;
  let release: (() => void) | undefined;
  try {
    const params = parseParams(req, o.modelScale);
    input = await getInput(stop.signal);
    const inp = input;
    const { wait, ...what } = params;
    const key = inp.key === undefined ? undefined : `${inp.key}\0${JSON.stringify(what)}`;
    const { job, joined } = await oneShot.submit(key, (signal, p) => compute(o, inp, params, signal, p));
    // The job owns the upload now: it is removed when the job ends (or now, when an identical job already ran).
    if (joined) await inp.cleanup?.();
    else if (inp.cleanup) void job.finished.then(inp.cleanup).catch((e: Error) => o.log(`upload cleanup: ${e.message}`));
    input = undefined;
    if (!wait) {
      job.polled = true;
      const url = `${SR_JOBS_PATH}/${job.id}`;
      if (text) return void res.type('text/plain').send(`job ${absolute(req, url)}\n`);
      return void res.status(202).json({ id: job.id, state: job.state, statusUrl: url, absoluteStatusUrl: absolute(req, url) });
    }
    release = oneShot.hold(job);
    await Promise.race([
      job.finished,
      new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true })),
    ]);
    if (stop.signal.aborted) return;
    if (job.error) throw new ServerError(job.error.code, job.error.message);
    const r = job.outcome!;
    if (text) return void res.type('text/plain').send(`${absolute(req, `${RESULTS_PATH}/${r.resultId}.tif`)}\n${warningLines(r.warnings)}`);
    res.json(outcomeJson(req, r));
  } catch (e) {
    const w = toWireError(e);
    if (w.internal) o.log(`${req.method} ${SR_PATH}: ${(e as Error)?.stack ?? String(e)}`);
    if (res.headersSent || stop.signal.aborted) return;
    if (text) return void res.type('text/plain').send(`error: ${w.code}: ${w.message}\n`);
    res.status(new ServerError(w.code, w.message).status).json({ error: { code: w.code, message: w.message } });
  } finally {
    release?.();
    await input?.cleanup?.();
  }
}

/** One whole-image job: runSr on the server's engine, the output moved into the result store. */
async function compute(
  o: SrRoutesOptions,
  input: SrInput,
  params: SrParams,
  signal: AbortSignal,
  p: { started(): void; progress(done: number, total: number): void },
): Promise<SrOutcome> {
  const r = await o.jobs.run({
    scale: params.scale,
    float32: params.float32,
    ...(params.model ? { model: params.model } : {}),
    ...(params.pixelSizeUm ? { pixelSizeUm: params.pixelSizeUm } : {}),
    input: input.input,
    signal,
    onStart: () => p.started(),
    onProgress: (stage, done, total) => {
      if (stage === 'inference') p.progress(done, total);
    },
    ...(input.uploaded ? { displayName: path.basename(input.name) } : {}),
  });
  const stored = await o.results.add(r.path, resultName(input.name, params.scale));
  return {
    resultId: stored.id,
    width: r.width,
    height: r.height,
    dtype: r.dtype,
    pixelSize: r.pixelSize ?? null,
    scale: params.scale,
    bytes: stored.bytes,
    ms: Math.round(r.ms),
    warnings: r.warnings,
  };
}

function statusJson(req: Request, job: OneShotJob<SrOutcome>): object {
  const base = { id: job.id, state: job.state, done: job.done, total: job.total };
  if (job.error) return { ...base, error: job.error };
  return job.outcome ? { ...base, ...outcomeJson(req, job.outcome) } : base;
}

/** A finished job's result as JSON: where to download it and what it is. */
function outcomeJson(req: Request, r: SrOutcome): object {
  const url = `${RESULTS_PATH}/${r.resultId}.tif`;
  return {
    url,
    absoluteUrl: absolute(req, url),
    width: r.width,
    height: r.height,
    dtype: r.dtype,
    pixelSize: r.pixelSize,
    scale: r.scale,
    bytes: r.bytes,
    ms: r.ms,
    warnings: r.warnings,
  };
}

/** `queued`, `running DONE TOTAL`, `done URL` + warning lines, or `error: CODE: message`. */
function statusText(req: Request, job: OneShotJob<SrOutcome>): string {
  if (job.error) return `error: ${job.error.code}: ${job.error.message}\n`;
  if (job.state === 'done')
    return `done ${absolute(req, `${RESULTS_PATH}/${job.outcome!.resultId}.tif`)}\n${warningLines(job.outcome!.warnings)}`;
  return job.state === 'running' ? `running ${job.done} ${job.total}\n` : 'queued\n';
}

function warningLines(warnings: string[]): string {
  return warnings.map((w) => `warning: ${w.replace(/\s+/g, ' ')}\n`).join('');
}

/** `url` on this server as the client reached it, with its token when it gave one. */
function absolute(req: Request, url: string): string {
  const token = queryString(req, 'token');
  return `${req.protocol}://${req.headers.host}${url}${token ? `?token=${encodeURIComponent(token)}` : ''}`;
}

function parseParams(
  req: Request,
  modelScale: number,
): { scale: 2 | 4 | 8; model?: string; float32: boolean; pixelSizeUm?: number; wait: boolean } {
  const s = queryString(req, 'scale');
  const scale = s === undefined ? modelScale : Number(s);
  if (scale !== 2 && scale !== 4 && scale !== 8) throw new ServerError('SR_ERR_USAGE', `scale must be 2, 4 or 8, got ${JSON.stringify(s)}`);
  const f = queryString(req, 'float32');
  const px = queryString(req, 'pixelSize');
  const pixelSizeUm = px === undefined ? undefined : Number(px);
  if (pixelSizeUm !== undefined && !(Number.isFinite(pixelSizeUm) && pixelSizeUm > 0))
    throw new ServerError('SR_ERR_USAGE', `pixelSize must be a number > 0 (µm), got ${JSON.stringify(px)}`);
  const model = queryString(req, 'model');
  const format = queryString(req, 'format');
  if (format !== undefined && format !== 'json' && format !== 'text')
    throw new ServerError('SR_ERR_USAGE', `format must be json or text, got ${JSON.stringify(format)}`);
  const wait = queryString(req, 'wait');
  if (wait !== undefined && wait !== '0' && wait !== '1')
    throw new ServerError('SR_ERR_USAGE', `wait must be 0 (answer at once with a status URL) or 1, got ${JSON.stringify(wait)}`);
  return {
    scale,
    float32: f === '1' || f === 'true',
    ...(model ? { model } : {}),
    ...(pixelSizeUm ? { pixelSizeUm } : {}),
    wait: wait !== '0',
  };
}

function queryString(req: Request, name: string): string | undefined {
  const v = req.query[name];
  return typeof v === 'string' ? v : undefined;
}
