// Wires the batch API into a server: WebSocket batch-begin / batch-end and export-region (+ cancel and disconnect), the
// HTTP one-shot endpoint /api/v1/sr and its downloadable results. Called once from PhasesrServer.
import path from 'node:path';

import type { Express } from 'express';

import type { ServerContext } from '../context';
import { BatchHandler } from './batch-handler';
import { ResultStore } from './result-store';
import { mountSrRoutes } from './sr-routes';
import { SrJobs } from './sr-job';
import { yieldingEngine } from './yielding-engine';

export function registerBatchApi(ctx: ServerContext & { readonly app: Express }): { jobs: SrJobs; results: ResultStore } {
  const { hub, app, store, options } = ctx;
  const jobs = new SrJobs(
    { engine: yieldingEngine(ctx.engine, ctx.tiles.queue), model: ctx.model, options, stats: ctx.stats },
    store.uploadDir,
  );
  const results = new ResultStore(path.join(store.uploadDir, 'results'));
  const batch = new BatchHandler({ jobs, store, maxUploadBytes: options.maxUploadBytes, chunkBytes: options.chunkBytes, log: options.log });
  hub.register('batch-begin', (msg, conn) => batch.begin(msg, conn)); // synchronous: see BatchHandler.begin
  hub.register('batch-end', (msg, conn) => batch.end(msg, conn));
  hub.register('export-region', (msg, conn) => batch.region(msg, conn));
  hub.onCancel((conn, ids) => batch.cancel(conn, ids === 'all' ? undefined : ids, ids === 'all'));
  hub.onConnectionClose((conn) => void batch.closed(conn));
  mountSrRoutes(app, {
    jobs,
    results,
    allowed: store.allowed,
    uploads: store.uploads,
    maxUploadBytes: options.maxUploadBytes,
    modelScale: ctx.model.config.scale,
    log: options.log,
  });
  return { jobs, results };
}
