// The viewer's WebSocket connection to the tile server: the browser twin of server/client/phasesr-client.ts,
// speaking the same protocol module (JSON messages validated with its zod schemas, binary frames with its
// codec). Tile requests are answered through callbacks so the OpenSeadragon tile source can finish or fail
// its jobs; `viewport` and `cancel` tell the server which queued tiles are no longer wanted.
import {
  decodeFrame, FLAG_LAST, parseServerMessage, PROTOCOL_VERSION, SUBPROTOCOL, WS_PATH,
  type Encoding, type FrameHeader, type ImageInfo, type Layer, type ServerMessage, type ServerMessageOf,
} from '../../server/protocol';

export type TileAnswer =
  | { ok: true; header: FrameHeader; payload: Uint8Array }
  | { ok: false; code: string; message: string };

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

interface PendingJob {
  onMessage: (m: ServerMessage) => void;
  onChunk?: (payload: Uint8Array, last: boolean) => void;
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
  readonly #tiles = new Map<number, PendingTile>();
  readonly #jobs = new Map<number, PendingJob>();
  readonly #statusWaiters: ((s: ServerMessageOf<'status'>) => void)[] = [];
  #nextId = 1;
  readonly counters: SocketCounters = { requested: 0, inFlight: 0, received: 0, cancelledByServer: 0, cancelledByViewer: 0, errors: 0 };
  /** Called when a tile of a model level arrives: its round trip in ms. */
  onTileTiming: (ask: TileAsk, ms: number) => void = () => undefined;
  onClose: (reason: string) => void = () => undefined;

  private constructor(ws: WebSocket, readonly hello: ServerMessageOf<'hello'>) {
    this.#ws = ws;
    ws.onmessage = (ev) => this.#receive(ev.data as ArrayBuffer | string);
    ws.onclose = (ev) => {
      this.#settle([...this.#tiles.keys()], { ok: false, code: 'SR_CLIENT_CLOSED', message: `connection closed (${ev.code})` });
      this.onClose(`connection closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})`);
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
        let m: ServerMessage | undefined;
        try {
          m = typeof ev.data === 'string' ? parseServerMessage(ev.data) : undefined;
        } catch { /* below */ }
        if (m?.type !== 'hello') return reject(new Error('the server did not start with a hello'));
        if (m.version !== PROTOCOL_VERSION) return reject(new Error(`server protocol ${m.version}, viewer ${PROTOCOL_VERSION}`));
        ws.send(JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION, client: 'phasesr-viewer' }));
        resolve(new ViewerSocket(ws, m));
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
    const id = this.#id();
    this.#tiles.set(id, { ask, sentAt: performance.now(), done });
    this.counters.requested++;
    this.counters.inFlight = this.#tiles.size;
    this.#send({ type: 'tiles', requests: [{ id, imageId: ask.imageId, level: ask.level, x: ask.x, y: ask.y, layer: ask.layer, encoding: ask.encoding, priority: ask.priority ?? 'visible' }] });
    return id;
  }

  /** Cancels tile requests this page no longer wants; their callbacks get SR_ERR_CANCELLED now. */
  cancelTiles(ids: number[]): void {
    const live = ids.filter((id) => this.#tiles.has(id));
    if (live.length === 0) return;
    this.#send({ type: 'cancel', ids: live });
    this.counters.cancelledByViewer += live.length;
    this.#settle(live, { ok: false, code: 'SR_ERR_CANCELLED', message: 'cancelled by the viewer' });
  }

  /** The tiles in view (inclusive indices at `level`): the server drops this page's queued tiles outside it. */
  viewport(imageId: string, level: number, x0: number, y0: number, x1: number, y1: number): void {
    this.#send({ type: 'viewport', imageId, level, x0, y0, x1, y1 });
  }

  status(): Promise<ServerMessageOf<'status'>> {
    this.#send({ type: 'status' });
    return new Promise((resolve) => this.#statusWaiters.push(resolve));
  }

  openImage(target: { path: string } | { imageId: string }): Promise<ImageInfo> {
    const id = this.#id();
    this.#send({ type: 'open-image', id, ...target });
    return new Promise((resolve, reject) => {
      this.#jobs.set(id, {
        onMessage: (m) => {
          if (m.type === 'image-opened') this.#jobs.delete(id), resolve(m.image);
          else if (m.type === 'error') this.#jobs.delete(id), reject(codedError(m.code, m.message));
        },
      });
    });
  }

  /**
   * Super-resolves a region (native pixels) of an open image on the server (export-region): resolves with the
   * result file it sends back (a TIFF with the pixel size), reporting progress on the way.
   */
  exportRegion(imageId: string, region: { x: number; y: number; width: number; height: number }, scale: 2 | 4 | 8, onProgress: (p: ServerMessageOf<'progress'>) => void): Promise<{ result: ServerMessageOf<'batch-result'>; file: Blob }> {
    const id = this.#id();
    const parts: Uint8Array[] = [];
    let result: ServerMessageOf<'batch-result'> | undefined;
    const done = new Promise<{ result: ServerMessageOf<'batch-result'>; file: Blob }>((resolve, reject) => {
      this.#jobs.set(id, {
        onMessage: (m) => {
          if (m.type === 'progress') onProgress(m);
          else if (m.type === 'batch-result') result = m;
          else if (m.type === 'batch-done' && result) this.#jobs.delete(id), resolve({ result, file: new Blob(parts as BlobPart[], { type: 'image/tiff' }) });
          else if (m.type === 'error') this.#jobs.delete(id), reject(codedError(m.code, m.message));
        },
        onChunk: (payload) => void parts.push(payload.slice()),
      });
    });
    this.#send({ type: 'export-region', id, imageId, ...region, scale });
    return done;
  }

  close(): void {
    this.#ws.close(1000, 'viewer closed');
  }

  #id(): number {
    return this.#nextId++;
  }

  #send(msg: object): void {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(msg));
  }

  #settle(ids: number[], a: TileAnswer): void {
    for (const id of ids) {
      const p = this.#tiles.get(id);
      if (!p) continue;
      this.#tiles.delete(id);
      p.done(a);
    }
    this.counters.inFlight = this.#tiles.size;
  }

  #receive(data: ArrayBuffer | string): void {
    if (typeof data !== 'string') return this.#frame(new Uint8Array(data));
    let m: ServerMessage;
    try {
      m = parseServerMessage(data);
    } catch (e) {
      console.warn('phasesr: unreadable server message', e);
      return;
    }
    if (m.type === 'status') {
      for (const w of this.#statusWaiters.splice(0)) w(m);
      return;
    }
    if (m.type === 'cancelled') {
      const mine = m.ids.filter((id) => this.#tiles.has(id));
      this.counters.cancelledByServer += mine.length;
      this.#settle(mine, { ok: false, code: 'SR_ERR_CANCELLED', message: `cancelled (${m.reason})` });
      return;
    }
    const id = 'id' in m ? m.id : undefined;
    if (id === undefined) {
      if (m.type === 'error') console.warn(`phasesr server: ${m.code}: ${m.message}`);
      return;
    }
    if (m.type === 'error' && this.#tiles.has(id)) {
      this.counters.errors++;
      this.#settle([id], { ok: false, code: m.code, message: m.message });
      return;
    }
    this.#jobs.get(id)?.onMessage(m);
  }

  #frame(bytes: Uint8Array): void {
    const f = decodeFrame(bytes);
    const { requestId } = f.header;
    if (f.header.kind === 'tile') {
      const p = this.#tiles.get(requestId);
      if (!p) return;
      this.counters.received++;
      this.onTileTiming(p.ask, performance.now() - p.sentAt);
      this.#settle([requestId], { ok: true, header: f.header, payload: f.payload });
    } else if (f.header.kind === 'resultChunk') {
      this.#jobs.get(requestId)?.onChunk?.(f.payload, (f.header.flags & FLAG_LAST) !== 0);
    }
  }
}

function codedError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}
