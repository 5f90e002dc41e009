// The viewer's WebSocket connection to the tile server: the browser WebSocket plugged into the protocol's
// ProtocolSession (server/protocol/session.ts), the same session the Node client uses. What stays here is the
// viewer's own bookkeeping: which tiles it still waits for (the layer stack cancels those out of view), the
// counters and round-trip times the status bar shows, and callbacks the OpenSeadragon tile source can finish.
import {
  acceptServerHello,
  PhasesrClientError,
  ProtocolSession,
  WS_PATH,
  SUBPROTOCOL,
  type Encoding,
  type ImageInfo,
  type Layer,
  type ServerMessageOf,
  type TileAnswer,
} from '../../server/protocol';

export type { TileAnswer } from '../../server/protocol';

export interface TileAsk {
  imageId: string;
  level: number;
  x: number;
  y: number;
  layer: Layer;
  encoding: Encoding;
  priority?: 'visible' | 'prefetch';
}

interface PendingTile {
  ask: TileAsk;
  sentAt: number;
  done: (a: TileAnswer) => void;
}

/** What the status bar shows: this page's requests, and the server's queue. */
export interface SocketCounters {
  requested: number;
  inFlight: number;
  received: number;
  cancelledByServer: number;
  cancelledByViewer: number;
  errors: number;
}

export class ViewerSocket {
  readonly #ws: WebSocket;
  readonly #session: ProtocolSession;
  readonly #tiles = new Map<number, PendingTile>();
  readonly counters: SocketCounters = { requested: 0, inFlight: 0, received: 0, cancelledByServer: 0, cancelledByViewer: 0, errors: 0 };
  /** Called when a tile of a model level arrives: its round trip in ms. */
  onTileTiming: (ask: TileAsk, ms: number) => void = () => undefined;
  onClose: (reason: string) => void = () => undefined;

  private constructor(
    ws: WebSocket,
    readonly hello: ServerMessageOf<'hello'>,
  ) {
    this.#ws = ws;
    this.#session = new ProtocolSession(
      {
        // A closing socket discards what it is given, as the browser's WebSocket does once it is closed.
        send: (d) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(d);
        },
        buffered: () => ws.bufferedAmount,
      },
      hello,
    );
    this.#session.onConnectionError = (e) => console.warn(`phasesr server: ${e.code}: ${e.message}`);
    ws.onmessage = (ev) => this.#session.receive(typeof ev.data === 'string' ? ev.data : new Uint8Array(ev.data as ArrayBuffer));
    ws.onclose = (ev) => {
      const reason = `${ev.code}${ev.reason ? ` ${ev.reason}` : ''}`;
      this.#session.closedBy(reason);
      this.onClose(`connection closed (${reason})`);
    };
  }

  /** Opens ws(s)://<this page's host>/ws (the token cookie set by the ?token= page load goes along). */
  static connect(): Promise<ViewerSocket> {
    const url = new URL(WS_PATH, location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const token = new URLSearchParams(location.search).get('token');
    if (token) url.searchParams.set('token', token);
    const ws = new WebSocket(url, SUBPROTOCOL);
    ws.binaryType = 'arraybuffer';
    return new Promise((resolve, reject) => {
      ws.onerror = () => reject(new Error(`cannot connect to ${url.origin}${WS_PATH}`));
      ws.onmessage = (ev) => {
        try {
          const { hello, reply } = acceptServerHello(typeof ev.data === 'string' ? ev.data : undefined, 'phasesr-viewer');
          ws.send(reply);
          resolve(new ViewerSocket(ws, hello));
        } catch (e) {
          reject(e);
        }
      };
    });
  }

  get pendingTileIds(): number[] {
    return [...this.#tiles.keys()];
  }

  pendingTile(id: number): TileAsk | undefined {
    return this.#tiles.get(id)?.ask;
  }

  /** Asks for one tile; `done` is called exactly once (a frame, an error, or a cancellation). */
  requestTile(ask: TileAsk, done: (a: TileAnswer) => void): number {
    const sentAt = performance.now();
    let id = 0;
    this.counters.requested++;
    try {
      id = this.#session.requestTiles([{ ...ask, priority: ask.priority ?? 'visible' }], (tileId, a) => this.#answered(tileId, a))[0]!;
      this.#tiles.set(id, { ask, sentAt, done });
    } catch (e) {
      // Closed (the answer has been given above, before the id was known) or a request the protocol refuses.
      const err = e as PhasesrClientError;
      done({ ok: false, code: err.code ?? 'SR_ERR_BAD_MESSAGE', message: err.message });
    }
    this.counters.inFlight = this.#tiles.size;
    return id;
  }

  /** Cancels tile requests this page no longer wants; their callbacks get SR_ERR_CANCELLED now. */
  cancelTiles(ids: number[]): void {
    const live = ids.filter((id) => this.#tiles.has(id));
    if (live.length === 0) return;
    try {
      this.#session.cancel(live);
    } catch {
      /* closed: nothing to tell the server */
    }
    this.counters.cancelledByViewer += live.length;
    const pending = live.map((id) => this.#tiles.get(id)!);
    for (const id of live) this.#tiles.delete(id);
    this.counters.inFlight = this.#tiles.size;
    this.#session.abandon(live, new PhasesrClientError('SR_ERR_CANCELLED', 'cancelled by the viewer'));
    for (const p of pending) p.done({ ok: false, code: 'SR_ERR_CANCELLED', message: 'cancelled by the viewer' });
  }

  /** The tiles in view (inclusive indices at `level`): the server drops this page's queued tiles outside it. */
  viewport(imageId: string, level: number, x0: number, y0: number, x1: number, y1: number): void {
    this.#quietly(() => this.#session.viewport(imageId, level, x0, y0, x1, y1));
  }

  status(): Promise<ServerMessageOf<'status'>> {
    return this.#session.status();
  }

  openImage(target: { path: string } | { imageId: string }): Promise<ImageInfo> {
    return this.#session.openImage(target).catch(rethrowWithCode);
  }

  /**
   * Super-resolves a region (native pixels) of an open image on the server (export-region): resolves with the
   * result file it sends back (a TIFF with the pixel size), reporting progress on the way.
   */
  async exportRegion(
    imageId: string,
    region: { x: number; y: number; width: number; height: number },
    scale: 2 | 4 | 8,
    onProgress: (p: ServerMessageOf<'progress'>) => void,
  ): Promise<{ result: ServerMessageOf<'batch-result'>; file: Blob }> {
    const id = this.#session.nextId();
    const parts: Uint8Array[] = [];
    const job = this.#session.resultJob(id, { progress: onProgress, chunk: (payload) => void parts.push(payload.slice()) });
    this.#session.send({ type: 'export-region', id, imageId, ...region, scale });
    const { result } = await job.catch(rethrowWithCode);
    return { result, file: new Blob(parts as BlobPart[], { type: 'image/tiff' }) };
  }

  close(): void {
    this.#ws.close(1000, 'viewer closed');
  }

  /** A tile's answer from the server (or the connection closing); tiles this page cancelled are already settled. */
  #answered(id: number, a: TileAnswer): void {
    const p = this.#tiles.get(id);
    if (!p) return;
    this.#tiles.delete(id);
    this.counters.inFlight = this.#tiles.size;
    if (a.ok) {
      this.counters.received++;
      this.onTileTiming(p.ask, performance.now() - p.sentAt);
    } else if (a.code === 'SR_ERR_CANCELLED') this.counters.cancelledByServer++;
    else if (a.code !== 'SR_CLIENT_CLOSED') this.counters.errors++;
    p.done(a);
  }

  #quietly(send: () => void): void {
    try {
      send();
    } catch {
      /* closed: the page has been told through onClose */
    }
  }
}

/** The viewer shows `CODE: message`, so that the user can look the code up. */
function rethrowWithCode(e: PhasesrClientError): never {
  throw Object.assign(new Error(`${e.code}: ${e.message}`), { code: e.code });
}
