// WebSocket handlers for tiles: `tiles` requests go to the tile service with this connection's priority
// and abort signal; `cancel`, `viewport`, `close-image` and disconnect abort them. A cancelled request never
// gets a frame; every other outcome is a tile frame or an error naming the request id. Each request carries
// the connection's latest viewport hint for its image: the tile service sizes the view's edge blocks by it.
import type { ServerContext } from '../context';
import { ServerError, toWireError } from '../errors';
import { tileInView, viewportArea, type TileRequest } from '../protocol';
import type { Waiter } from '../tiles/inference-queue';
import type { TileContext } from '../tiles/tile-service';
import type { Connection } from './connection';

interface PendingTile {
  req: TileRequest;
  waiter: Waiter;
  abort: AbortController;
}

const TILES = 'tiles';
const VIEWS = 'views';
/** Viewport hints kept per connection (images it looked at most recently): a bound, not a limit anyone meets. */
const MAX_VIEWS = 16;

function pending(conn: Connection): Map<number, PendingTile> {
  let m = conn.state.get(TILES) as Map<number, PendingTile> | undefined;
  if (!m) conn.state.set(TILES, (m = new Map()));
  return m;
}

/** The connection's latest viewport hint per image id (TileContext.view): one entry per image it hinted at. */
function views(conn: Connection): Map<string, NonNullable<TileContext['view']>> {
  let m = conn.state.get(VIEWS) as Map<string, NonNullable<TileContext['view']>> | undefined;
  if (!m) conn.state.set(VIEWS, (m = new Map()));
  return m;
}

export function registerTileHandlers(ctx: ServerContext): { cancelImage: (conn: Connection, imageId: string) => void } {
  const { hub, store, tiles, stats, options } = ctx;

  const cancel = (conn: Connection, ids: number[], reason: 'client' | 'viewport' | 'closed'): number[] => {
    const map = pending(conn);
    const hit: number[] = [];
    for (const id of ids) {
      const p = map.get(id);
      if (!p) continue;
      map.delete(id);
      p.abort.abort(new ServerError('SR_ERR_CANCELLED', `request ${id} cancelled (${reason})`));
      hit.push(id);
    }
    return hit;
  };

  hub.register('tiles', (msg, conn) => {
    const map = pending(conn);
    for (const req of msg.requests) {
      if (map.has(req.id)) {
        conn.sendError('SR_ERR_DUPLICATE_ID', `request id ${req.id} is already in flight`, req.id);
        continue;
      }
      if (map.size >= options.maxQueuedPerConnection) {
        conn.sendError(
          'SR_ERR_BUSY',
          `this connection has ${map.size} tile requests in flight (limit ${options.maxQueuedPerConnection}): wait or cancel`,
          req.id,
        );
        continue;
      }
      if (!store.has(req.imageId)) {
        conn.sendError('SR_ERR_NOT_FOUND', `no open image ${req.imageId}`, req.id);
        continue;
      }
      const p: PendingTile = {
        req,
        waiter: { visible: req.priority === 'visible', seq: ctx.nextSeq(), client: `ws:${conn.id}` },
        abort: new AbortController(),
      };
      map.set(req.id, p);
      void serve(conn, p).finally(() => {
        if (map.get(req.id) === p) map.delete(req.id);
      });
    }
  });

  async function serve(conn: Connection, p: PendingTile): Promise<void> {
    const { req } = p;
    const signal = AbortSignal.any([p.abort.signal, conn.signal]);
    try {
      const img = store.get(req.imageId);
      const view = views(conn).get(req.imageId);
      const t = await raceAbort(
        tiles.tile(img, req.layer, req.level, req.x, req.y, req.encoding, { waiter: p.waiter, signal, ...(view ? { view } : {}) }),
        signal,
      );
      if (signal.aborted) return;
      conn.sendFrame(
        {
          kind: 'tile',
          requestId: req.id,
          layer: req.layer,
          encoding: req.encoding,
          level: req.level,
          flags: 0,
          x: req.x,
          y: req.y,
          width: t.width,
          height: t.height,
        },
        t.payload,
      );
      stats.tilesSent++;
    } catch (e) {
      if (signal.aborted) return; // cancelled: the `cancelled` message already named it
      const w = toWireError(e);
      stats.errors++;
      if (w.internal) options.log(`tile ${req.imageId}/${req.level}/${req.x}/${req.y}: ${(e as Error)?.stack ?? String(e)}`);
      conn.sendError(w.code, w.message, req.id);
    }
  }

  hub.onCancel((conn, ids) => cancel(conn, ids === 'all' ? [...pending(conn).keys()] : ids, 'client'));

  hub.register('viewport', (msg, conn) => {
    if (store.has(msg.imageId)) {
      const v = views(conn);
      v.delete(msg.imageId); // newest last, so the oldest goes first when the map is full
      v.set(msg.imageId, { level: msg.level, area: viewportArea(msg) });
      if (v.size > MAX_VIEWS) v.delete(v.keys().next().value!);
    }
    const drop: number[] = [];
    for (const [id, p] of pending(conn)) {
      if (p.req.imageId !== msg.imageId) continue;
      if (tileInView(p.req.level, p.req.x, p.req.y, viewportArea(msg), msg.level)) p.waiter.visible = true;
      else drop.push(id);
    }
    const ids = cancel(conn, drop, 'viewport');
    if (ids.length > 0) conn.send({ type: 'cancelled', ids, reason: 'viewport' });
  });

  hub.register('status', (_msg, conn) => {
    conn.send({
      type: 'status',
      queued: tiles.queue.queued,
      running: tiles.queue.running,
      engineCalls: stats.engineCalls,
      tilesComputed: stats.tilesComputed,
      cacheHits: stats.cacheHits,
      connections: hub.connectionCount,
      openImages: store.list().length,
    });
  });

  hub.onConnectionClose((conn) => {
    for (const p of pending(conn).values()) p.abort.abort();
    pending(conn).clear();
  });

  return {
    cancelImage: (conn, imageId) => {
      views(conn).delete(imageId);
      const ids = cancel(
        conn,
        [...pending(conn).values()].filter((p) => p.req.imageId === imageId).map((p) => p.req.id),
        'closed',
      );
      if (ids.length > 0) conn.send({ type: 'cancelled', ids, reason: 'closed' });
    },
  };
}

/** Rejects as soon as `signal` aborts, even if the work itself (a source read, an encode) goes on. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
