// The express app: security guard on every request, JSON errors {error: {code, message}}, /health, and a
// `routes` hook where the image/tile REST endpoints (http/image-routes.ts) and later ones are mounted.
import cors from 'cors';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';

import { ServerError, toWireError } from '../errors';
import { type RequestGuard, TOKEN_COOKIE } from './security';
import { ZARR_PREFIX } from './zarr-routes';

export interface AppOptions {
  guard: RequestGuard;
  /** Body of GET /health (stats, model, version). */
  health: () => object | Promise<object>;
  log: (line: string) => void;
  /** Origins (scheme://host[:port]) whose pages may read the OME-Zarr view cross-origin; none by default. */
  corsOrigins: string[];
}

/** Methods that change state: checked against Origin (a foreign page could send them without CORS). */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** GETs under these start work or read images (tiles, jobs, zarr chunks): checked like state changes. */
function startsWork(path: string): boolean {
  return path.startsWith('/api/') || path === ZARR_PREFIX || path.startsWith(`${ZARR_PREFIX}/`);
}

export function createApp(opts: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  if (opts.corsOrigins.length > 0) {
    // Before the guard: a browser's preflight carries no token. Only the read-only zarr view is shared; the
    // cors package answers allowed origins (reflected, Vary: Origin) and leaves every other origin unreadable.
    app.use(
      ZARR_PREFIX,
      (req: Request, res: Response, next: NextFunction) => {
        // Chrome's Private Network Access: a public page (vizarr on github.io) reaching a loopback server asks
        // for this in its preflight; the cors package does not know it.
        if (
          req.method === 'OPTIONS' &&
          req.headers['access-control-request-private-network'] === 'true' &&
          opts.corsOrigins.includes(req.headers.origin ?? '')
        ) {
          res.set('Access-Control-Allow-Private-Network', 'true');
        }
        next();
      },
      cors({ origin: opts.corsOrigins, methods: ['GET', 'HEAD'], allowedHeaders: ['Authorization', 'Range'], maxAge: 600 }),
    );
  }
  app.use((req: Request, res: Response, next: NextFunction) => {
    const zarr = req.path.startsWith(`${ZARR_PREFIX}/`);
    const denied = opts.guard.check(
      req,
      !SAFE.has(req.method) || (req.method !== 'OPTIONS' && startsWork(req.path)),
      zarr ? opts.corsOrigins : [],
    );
    if (denied) return void res.status(denied.status).json({ error: { code: denied.code, message: denied.message } });
    // Jupyter-style: the ?token= URL sets a cookie so the page's later requests (tiles, WebSocket) carry it.
    const t = opts.guard.queryToken(req);
    if (t) res.cookie(TOKEN_COOKIE, t, { httpOnly: true, sameSite: 'strict', path: '/' });
    next();
  });
  app.get('/health', async (_req, res) => void res.json({ ok: true, ...(await opts.health()) }));
  return app;
}

/** Installed last: unknown routes and thrown errors become JSON errors with stable codes. */
export function finishApp(app: Express, log: (line: string) => void): void {
  app.use((req: Request, _res: Response, next: NextFunction) =>
    next(new ServerError('SR_ERR_NOT_FOUND', `no route ${req.method} ${req.path}`)),
  );
  app.use((e: unknown, req: Request, res: Response, _next: NextFunction) => {
    const err = e as { type?: string; status?: number };
    // body-parser errors (too large, bad JSON) carry `type` and `status`.
    const w =
      err?.type === 'entity.too.large'
        ? { code: 'SR_ERR_TOO_LARGE' as const, message: 'request body too large', internal: false }
        : err?.type === 'entity.parse.failed'
          ? { code: 'SR_ERR_BAD_MESSAGE' as const, message: 'request body is not valid JSON', internal: false }
          : toWireError(e);
    if (w.internal) log(`${req.method} ${req.path}: ${(e as Error)?.stack ?? String(e)}`);
    if (res.headersSent) return void res.destroy();
    res.status(new ServerError(w.code, w.message).status).json({ error: { code: w.code, message: w.message } });
  });
}
