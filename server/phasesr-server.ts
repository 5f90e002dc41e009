// The tile server: loads the model and engine once, wires the HTTP app and the WebSocket hub to the image
// store and the tile service, and listens. `PhasesrServer.create()` then `listen()`; `close()` frees all.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Express } from 'express';

import { describeModel, haloFor, resolveModel, type LoadedModel, type SuperResBackend } from '../models';
import { BLOCK_SIZES, isLoopback, SERVER_DEFAULTS, type ServerOptions } from './config';
import { ServerError } from './errors';
import { checkPortFree, portInUse } from './port-check';
import type { ServerContext } from './context';
import { WarmUp, warmUpWindows } from './engine/warm-up';
import { WorkerEngine } from './engine/worker-engine';
import { createApp, finishApp } from './http/app';
import { mountImageRoutes } from './http/image-routes';
import { mountIndex } from './http/index-page';
import { mountViewerRoutes } from './http/viewer-routes';
import { mountZarrRoutes } from './http/zarr-routes';
import { RequestGuard } from './http/security';
import { registerBatchApi } from './batch';
import { ImageStore, type SharedImages } from './images/image-store';
import { PROTOCOL_VERSION, TILE_SIZE, type ServerMessageOf } from './protocol';
import { BlockWorker } from './scale/block-worker';
import { redisOptions } from './scale/block-jobs';
import { RedisBlockQueue } from './scale/redis-block-queue';
import { RemoteEngine } from './scale/remote-engine';
import { SharedDir } from './scale/shared-dir';
import { ServerStats } from './stats';
import { TileCache } from './tiles/tile-cache';
import { TileService } from './tiles/tile-service';
import { registerImageHandlers } from './ws/image-handlers';
import { registerTileHandlers } from './ws/tile-handlers';
import { WsHub } from './ws/ws-hub';

export const SERVER_NAME = 'phasesr 0.1.0';

/** With --redis: the shared queue, this process's worker on it (unless --no-local-engine), the shared folder. */
export interface ScaleParts {
  queue: RedisBlockQueue;
  worker: BlockWorker | undefined;
  shared: SharedDir;
}

export class PhasesrServer implements ServerContext {
  readonly tiles: TileService;
  readonly scale: ScaleParts | undefined;
  /** The express app: add routes with `server.app.get(...)` before `listen()` (errors and 404 come last). */
  readonly app: Express;
  /** The WebSocket hub: add message handlers with `server.hub.register(type, handler)`. */
  readonly hub: WsHub;
  readonly options: ServerOptions;
  readonly token: string;
  /** The engine's first runs, started before the server listens (server/engine/warm-up.ts). */
  readonly warmUp: WarmUp;
  #http: Server | undefined;
  #seq = 0;

  private constructor(
    options: ServerOptions,
    readonly model: LoadedModel,
    readonly engine: SuperResBackend,
    readonly store: ImageStore,
    readonly stats: ServerStats,
    redis: { queue: RedisBlockQueue; shared: SharedDir } | undefined,
  ) {
    this.options = options;
    // A --redis front end without a local engine runs nothing; in --redis mode every block is served at the block size.
    const halo = haloFor(model.config);
    const windows = !options.localEngine
      ? []
      : warmUpWindows(options.blockSize, redis ? 0 : options.firstBlockSize, halo, redis ? 1 : options.mergeBlocks);
    this.warmUp = WarmUp.start(engine, windows, options.log);
    if (redis) {
      const { queue, shared } = redis;
      const worker = options.localEngine
        ? new BlockWorker({ url: options.redis!, shared, model, engine, lockMs: options.lockMs, log: options.log })
        : undefined;
      this.scale = { queue, worker, shared };
    }
    const shared = redis?.shared;
    const loopback = isLoopback(options.host);
    this.token = options.token ?? (loopback ? '' : randomBytes(24).toString('hex'));
    const guard = new RequestGuard(this.token, loopback);
    this.app = createApp({ guard, health: () => this.health(), log: options.log, corsOrigins: options.corsOrigins });
    this.hub = new WsHub({
      maxPayloadBytes: options.maxPayloadBytes,
      maxQueuedBytes: options.maxQueuedBytesPerConnection,
      guard,
      hello: () => this.hello(),
      log: options.log,
    });
    const cacheDir = shared?.cacheDir ?? options.cacheDir;
    const cache = new TileCache({
      encodedBytes: options.memoryCacheBytes,
      floatBytes: options.floatCacheBytes,
      ...(cacheDir ? { dir: cacheDir } : {}),
      log: options.log,
    });
    this.tiles = new TileService({
      engine,
      modelSha: model.sha256,
      halo,
      cache,
      stats: this.stats,
      maxQueued: options.maxQueued,
      batch: options.batch,
      firstBlockSize: options.firstBlockSize,
      mergeBlocks: options.mergeBlocks,
      ...(this.scale ? { remote: this.scale.queue } : {}),
    });
    store.onImageClosed((img) => this.tiles.dropImage(img));
    const tileHandlers = registerTileHandlers(this);
    registerImageHandlers(this, tileHandlers.cancelImage);
    mountImageRoutes(this.app, this);
    mountZarrRoutes(this.app, this); // read-only OME-Zarr view of every open image (docs/ecosystem.md)
    mountViewerRoutes(this.app, this); // plugins, plugin modules, the sample (server/http/viewer-routes.ts)
    mountIndex(this.app, this);
    // Batch API (WebSocket batch-begin/end, HTTP /api/v1/sr): server/batch/, added by the batch helper.
    registerBatchApi(this);
  }

  nextSeq(): number {
    return ++this.#seq;
  }

  /** Loads the model and starts the engine; conflicting options throw SR_ERR_USAGE. */
  static async create(opts: Partial<ServerOptions> = {}): Promise<PhasesrServer> {
    const options: ServerOptions = { ...SERVER_DEFAULTS, ...opts };
    if (!(BLOCK_SIZES as readonly number[]).includes(options.blockSize))
      throw new ServerError('SR_ERR_USAGE', `block size ${options.blockSize}: use one of ${BLOCK_SIZES.join(', ')}`);
    if (options.firstBlockSize !== 0 && !(BLOCK_SIZES as readonly number[]).includes(options.firstBlockSize)) {
      throw new ServerError('SR_ERR_USAGE', `first block size ${options.firstBlockSize}: use 0 (off) or one of ${BLOCK_SIZES.join(', ')}`);
    }
    for (const o of options.corsOrigins) {
      if (!isOrigin(o))
        throw new ServerError(
          'SR_ERR_USAGE',
          `CORS origin '${o}': give an exact origin such as https://example.org or http://localhost:3000 (no path, no wildcard)`,
        );
    }
    if (!Number.isInteger(options.mergeBlocks) || options.mergeBlocks < 1 || options.mergeBlocks > 64)
      throw new ServerError('SR_ERR_USAGE', `merge blocks ${options.mergeBlocks}: use a whole number from 1 (off) to 64`);
    if (!Number.isInteger(options.batch) || options.batch < 1)
      throw new ServerError('SR_ERR_USAGE', `batch ${options.batch}: use a whole number >= 1`);
    // An empty token means "no authentication", which only the machine itself may be granted.
    if (options.token === '' && !isLoopback(options.host)) {
      throw new ServerError(
        'SR_ERR_USAGE',
        `an empty token serves everyone who can reach ${options.host} without authentication: bind to 127.0.0.1, or ` +
          `leave --token out (one is generated) or give a non-empty one`,
      );
    }
    checkScaleOptions(options);
    await checkPortFree(options.host, options.port);
    const model = await resolveModel(options.model);
    options.log(`model: ${describeModel(model)}`);
    const shared = options.redis ? await SharedDir.create(options.sharedDir!) : undefined;
    const queue = shared
      ? new RedisBlockQueue({
          url: options.redis!,
          shared,
          modelSha: model.sha256,
          serverId: `${hostname()}:${process.pid}`,
          maxQueued: options.maxQueued,
          workerWaitMs: options.workerWaitMs,
          log: options.log,
        })
      : undefined;
    // In a worker thread: onnxruntime-node blocks its thread for a whole run (server/engine/engine-worker-main.ts).
    // A front end without one hands the batch API's engine calls to the workers through the queue.
    const engine = options.localEngine
      ? await WorkerEngine.create(
          model.config,
          {
            model: options.model,
            ...(options.engine ? { engine: options.engine } : {}),
            ...(options.threads ? { threads: options.threads } : {}),
          },
          options.log,
        ).catch(async (e: unknown) => {
          await queue?.close();
          throw e;
        })
      : new RemoteEngine(model.config, queue!);
    const stats = new ServerStats();
    let store: ImageStore | undefined;
    try {
      const uploadDir = shared?.uploadDir ?? options.uploadDir;
      store = await ImageStore.create({
        allowDirs: options.allowDirs,
        ...(options.exchangeDir ? { exchangeDir: options.exchangeDir } : {}),
        ...(uploadDir ? { uploadDir } : {}),
        maxImagePixels: options.maxImagePixels,
        modelScale: model.config.scale,
        halo: haloFor(model.config),
        blockSize: options.blockSize,
        ...(shared ? { shared: sharedImages(shared, stats) } : {}),
        maxUploadsPerClient: options.maxUploadsPerClient,
        maxUploads: options.maxUploads,
        maxOpenImages: options.maxOpenImages,
        imageIdleMs: options.imageIdleMs,
        log: options.log,
      });
      for (const file of options.images) await store.openFile(file, { pinned: true });
    } catch (e) {
      await store?.close();
      await queue?.close();
      await engine.dispose();
      throw e;
    }
    const server = new PhasesrServer(options, model, engine, store, stats, shared && queue ? { queue, shared } : undefined);
    if (server.scale && !(await server.scale.queue.ready()))
      options.log(`redis: not reachable yet at start; tile requests get SR_ERR_QUEUE_UNAVAILABLE until it is`);
    return server;
  }

  /** Starts listening (port 0 = any free port); resolves with the base URL. */
  async listen(): Promise<string> {
    finishApp(this.app, this.options.log);
    const http = createServer(this.app);
    http.on('upgrade', (req, socket, head) => this.hub.handleUpgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      http.once('error', (e: NodeJS.ErrnoException) =>
        reject(e.code === 'EADDRINUSE' ? portInUse(this.options.host, this.options.port) : e),
      );
      http.listen(this.options.port, this.options.host, () => resolve());
    });
    this.#http = http;
    return this.url;
  }

  /** Base URL (http://host:port), without the token. */
  get url(): string {
    const a = this.#http?.address() as AddressInfo | null | undefined;
    if (!a) throw new Error('server is not listening');
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  get port(): number {
    // biome-ignore lint/correctness/noUnsafeOptionalChaining: before listen() this throws a TypeError, as it always has
    return (this.#http?.address() as AddressInfo).port;
  }

  /** The URL to open in a browser (with ?token= when one is required). */
  get viewerUrl(): string {
    return `${this.url}/${this.token ? `?token=${this.token}` : ''}`;
  }

  async close(): Promise<void> {
    await this.hub.close();
    if (this.#http) {
      this.#http.closeAllConnections();
      await new Promise<void>((r) => this.#http!.close(() => r()));
    }
    // The local worker finishes the job in hand (its tiles land in the shared cache for the others).
    await this.scale?.worker?.close();
    await this.scale?.queue.close();
    await this.store.close();
    await this.engine.dispose();
  }

  /** single: today's one process; front: tiles through the shared queue only; front+worker: also works it. */
  get role(): 'single' | 'front' | 'front+worker' {
    return !this.scale ? 'single' : this.scale.worker ? 'front+worker' : 'front';
  }

  async health(): Promise<object> {
    const s = this.scale;
    return {
      server: SERVER_NAME,
      protocol: PROTOCOL_VERSION,
      role: this.role,
      model: this.modelInfo(),
      engine: s && !s.worker ? 'none' : this.engine.engine,
      warmUp: this.warmUp.report,
      ...(this.engine.adapter ? { adapter: this.engine.adapter } : {}),
      connections: this.hub.connectionCount,
      openImages: this.store.list().length,
      queue: { queued: this.tiles.queue.queued, running: this.tiles.queue.running },
      stats: { ...this.stats },
      ...(this.engine.busyMs !== undefined && !(s && !s.worker) ? { engineBusyMs: Math.round(this.engine.busyMs) } : {}),
      ...(s ? { redis: await s.queue.health(), ...(s.worker ? { localWorker: { id: s.worker.id, ...s.worker.counters } } : {}) } : {}),
    };
  }

  modelInfo(): ServerMessageOf<'hello'>['model'] {
    const m = this.model;
    return { name: m.config.name, scale: m.config.scale, sha256: m.sha256, trained: m.provenance.trained, description: describeModel(m) };
  }

  hello(): ServerMessageOf<'hello'> {
    const o = this.options;
    return {
      type: 'hello',
      version: PROTOCOL_VERSION,
      server: SERVER_NAME,
      model: this.modelInfo(),
      tileSize: TILE_SIZE,
      limits: {
        maxPayloadBytes: o.maxPayloadBytes,
        maxUploadBytes: o.maxUploadBytes,
        maxImagePixels: o.maxImagePixels,
        maxQueuedPerConnection: o.maxQueuedPerConnection,
        chunkBytes: o.chunkBytes,
      },
    };
  }
}

/** An exact web origin: http(s)://host[:port] and nothing else. */
function isOrigin(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === s;
  } catch {
    return false;
  }
}

/** --redis, --shared-dir, --no-local-engine and --cache-dir: which go together. @throws SR_ERR_USAGE */
function checkScaleOptions(o: ServerOptions): void {
  const usage = (m: string): ServerError => new ServerError('SR_ERR_USAGE', m);
  if (o.redis === undefined) {
    if (!o.localEngine) throw usage('--no-local-engine needs --redis: without a shared queue this server must run the model itself');
    if (o.sharedDir) throw usage('--shared-dir needs --redis');
    return;
  }
  redisOptions(o.redis);
  if (!o.sharedDir) throw usage('--redis needs --shared-dir: a folder every server and worker sees (images, uploads, tile cache)');
  if (o.cacheDir) throw usage("--cache-dir with --redis: the tile cache is the shared folder's cache/");
  if (!Number.isInteger(o.lockMs) || o.lockMs < 1000) throw usage(`lock ${o.lockMs} ms: use a whole number >= 1000`);
  if (!Number.isInteger(o.workerWaitMs) || o.workerWaitMs < 0) throw usage(`no-worker wait ${o.workerWaitMs} ms: use a whole number >= 0`);
}

/** The image store's view of the shared folder; counts the percentiles this server computed itself. */
function sharedImages(shared: SharedDir, stats: ServerStats): SharedImages {
  return {
    place: async (file, sha256, owned) => shared.resolve(await shared.place(file, sha256, owned)),
    percentiles: async (sha256, compute) => {
      const p = await shared.percentiles(sha256, compute);
      if (p.computed) stats.percentilesComputed++;
      return p;
    },
  };
}
