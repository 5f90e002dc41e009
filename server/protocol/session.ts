// The client side of the protocol, once, for every client: the browser viewer (viewer/src/socket.ts) and the
// Node client for scripts and the CLI (server/client/) each plug their WebSocket into a ProtocolSession as a
// SessionTransport. The session owns what both used to write twice: the hello check, request ids, routing
// replies and frames to the request they answer, status waiters, tile requests, cancel, chunked uploads with
// backpressure and result jobs. Browser-safe, like the rest of this module: no Node imports.
import {
  decodeFrame,
  encodeChunk,
  FLAG_LAST,
  FRAME_HEADER_BYTES,
  type Encoding,
  type Frame,
  type FrameHeader,
  type Layer,
} from './binary-frame';
import {
  MAX_TILES_PER_MESSAGE,
  parseServerMessage,
  PROTOCOL_VERSION,
  RequestTiles,
  type ImageInfo,
  type ServerMessage,
  type ServerMessageOf,
} from './messages';

/** What a session needs from a socket: the browser's WebSocket and `ws` both provide it in a few lines. */
export interface SessionTransport {
  send(data: string | Uint8Array): void;
  /** Bytes handed to send() that the socket has not written yet (uploads wait while it is above a high-water mark). */
  buffered(): number;
}

/** Errors a client sees: `code` is a server code (SR_ERR_...), a client one (SR_CLIENT_...), or a socket errno. */
export class PhasesrClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly id?: number,
  ) {
    super(message);
    this.name = 'PhasesrClientError';
  }
}

export interface TileRequestInput {
  imageId: string;
  level: number;
  x: number;
  y: number;
  layer?: Layer;
  encoding?: Encoding;
  priority?: 'visible' | 'prefetch';
}

/** How one tile request ended: its frame, or the code and message of why there is none. */
export type TileAnswer = { ok: true; header: FrameHeader; payload: Uint8Array } | { ok: false; code: string; message: string };

/** The reply to a result job (batch, export-region): the result's description and the server's sha256 of it. */
export interface ResultJobDone {
  result: ServerMessageOf<'batch-result'>;
  sha256: string;
}

interface Route {
  onMessage(msg: ServerMessage): void;
  onFrame?(frame: Frame): void;
  onClose(err: PhasesrClientError): void;
}

/** The socket's unwritten bytes above which an upload waits. */
const UPLOAD_HIGH_WATER = 8 << 20;

/**
 * Checks the server's first message: it must be a hello of this protocol version.
 * @returns the hello, and the client hello to send back
 * @throws PhasesrClientError SR_CLIENT_PROTOCOL (no hello) or SR_ERR_PROTOCOL_VERSION
 */
export function acceptServerHello(first: string | undefined, clientName: string): { hello: ServerMessageOf<'hello'>; reply: string } {
  let msg: ServerMessage | undefined;
  try {
    msg = first === undefined ? undefined : parseServerMessage(first);
  } catch {
    /* below */
  }
  if (msg?.type !== 'hello') throw new PhasesrClientError('SR_CLIENT_PROTOCOL', 'the server did not start with a hello message');
  if (msg.version !== PROTOCOL_VERSION)
    throw new PhasesrClientError('SR_ERR_PROTOCOL_VERSION', `server speaks protocol ${msg.version}, this client ${PROTOCOL_VERSION}`);
  return { hello: msg, reply: JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION, client: clientName }) };
}

export class ProtocolSession {
  readonly #transport: SessionTransport;
  readonly #routes = new Map<number, Route>();
  readonly #statusWaiters: { resolve: (m: ServerMessageOf<'status'>) => void; reject: (e: PhasesrClientError) => void }[] = [];
  #nextId = 1;
  #closeError: PhasesrClientError | undefined;
  /** Errors the server sent without a request id (a malformed message of ours, say), and unreadable server data. */
  onConnectionError: (e: PhasesrClientError) => void = () => undefined;

  constructor(
    transport: SessionTransport,
    readonly hello: ServerMessageOf<'hello'>,
  ) {
    this.#transport = transport;
  }

  get closed(): boolean {
    return this.#closeError !== undefined;
  }

  /** A fresh request id (wrapping before the frame header's u32 runs out). */
  nextId(): number {
    const id = this.#nextId;
    this.#nextId = this.#nextId >= 0xfffffffe ? 1 : this.#nextId + 1;
    return id;
  }

  /** @throws PhasesrClientError SR_CLIENT_CLOSED once the connection has closed */
  send(msg: object): void {
    if (this.#closeError) throw this.#closeError;
    this.#transport.send(JSON.stringify(msg));
  }

  /** Whether request `id` still waits for an answer. */
  pending(id: number): boolean {
    return this.#routes.has(id);
  }

  /** Waits for the reply `type` to request `id`; an error or cancellation for it rejects. Register before sending. */
  reply<T extends ServerMessage['type']>(id: number, type: T): Promise<ServerMessageOf<T>> {
    return new Promise((resolve, reject) => {
      this.#route(id, {
        onMessage: (m) => {
          if (m.type === type) {
            this.#routes.delete(id);
            resolve(m as ServerMessageOf<T>);
          } else if (m.type === 'error' || m.type === 'cancelled') {
            this.#routes.delete(id);
            reject(
              m.type === 'error'
                ? new PhasesrClientError(m.code, m.message, id)
                : new PhasesrClientError('SR_ERR_CANCELLED', `cancelled (${m.reason})`, id),
            );
          }
        },
        onClose: reject,
      });
    });
  }

  /** Opens a server-side file (inside the server's allowed folders) or an image it already has. */
  openImage(target: { path: string } | { imageId: string }): Promise<ImageInfo> {
    const id = this.nextId();
    const p = this.reply(id, 'image-opened').then((m) => m.image);
    this.send({ type: 'open-image', id, ...target });
    return p;
  }

  /**
   * Asks for tiles; `answer` is called exactly once per request (its frame, an error, a cancellation, or the
   * connection closing). Returns the request ids, in order.
   * @throws PhasesrClientError SR_ERR_BAD_MESSAGE (before anything is sent) for a request the protocol refuses
   */
  requestTiles(requests: TileRequestInput[], answer: (id: number, a: TileAnswer) => void): number[] {
    const ids = requests.map(() => this.nextId());
    const messages: object[] = [];
    for (let i = 0; i < requests.length; i += MAX_TILES_PER_MESSAGE) {
      const msg = {
        type: 'tiles',
        requests: requests
          .slice(i, i + MAX_TILES_PER_MESSAGE)
          .map((r, k) => ({ id: ids[i + k]!, layer: 'sr', encoding: 'png', priority: 'visible', ...r })),
      };
      // Checked here: the server refuses a malformed `tiles` message as a whole, with no request id to answer.
      const v = RequestTiles.safeParse(msg);
      if (!v.success)
        throw new PhasesrClientError(
          'SR_ERR_BAD_MESSAGE',
          `bad tile request: ${v.error.issues[0]?.path.join('.')}: ${v.error.issues[0]?.message}`,
        );
      messages.push(msg);
    }
    for (const id of ids) {
      const settle = (a: TileAnswer) => {
        this.#routes.delete(id);
        answer(id, a);
      };
      this.#route(id, {
        onMessage: (m) => {
          if (m.type === 'error') settle({ ok: false, code: m.code, message: m.message });
          else if (m.type === 'cancelled') settle({ ok: false, code: 'SR_ERR_CANCELLED', message: `cancelled (${m.reason})` });
        },
        onFrame: (f) => {
          if (f.header.kind === 'tile') settle({ ok: true, header: f.header, payload: f.payload });
        },
        onClose: (e) => settle({ ok: false, code: e.code, message: e.message }),
      });
    }
    for (const m of messages) this.send(m);
    return ids;
  }

  /** Cancels requests (tiles, uploads, result jobs) by id, or all of this connection's. */
  cancel(ids: number[] | 'all'): void {
    if (ids === 'all') this.send({ type: 'cancel', all: true });
    else if (ids.length > 0) this.send({ type: 'cancel', ids });
  }

  /**
   * Answers requests here and now, without waiting for the server (a client that cancelled them does not want
   * the server's answer): each still pending gets `onClose(err)`; their later replies are dropped.
   */
  abandon(ids: number[], err: PhasesrClientError): void {
    for (const id of ids) {
      const r = this.#routes.get(id);
      this.#routes.delete(id);
      r?.onClose(err);
    }
  }

  /** Tells the server the tiles now in view: its queued tiles of this image outside them are dropped. */
  viewport(imageId: string, level: number, x0: number, y0: number, x1: number, y1: number): void {
    this.send({ type: 'viewport', imageId, level, x0, y0, x1, y1 });
  }

  closeImage(imageId: string): void {
    this.send({ type: 'close-image', imageId });
  }

  /** The server's queue and cache counters. */
  status(): Promise<ServerMessageOf<'status'>> {
    return new Promise((resolve, reject) => {
      if (this.#closeError) return reject(this.#closeError);
      this.#statusWaiters.push({ resolve, reject });
      this.send({ type: 'status' });
    });
  }

  /**
   * Receives a result job's reply (batch-begin or export-region, sent by the caller after this): progress,
   * batch-result, the result file's chunks in order, then batch-done.
   */
  resultJob(
    id: number,
    on: { progress?: (p: ServerMessageOf<'progress'>) => void; chunk: (payload: Uint8Array, last: boolean) => void },
  ): Promise<ResultJobDone> {
    let result: ServerMessageOf<'batch-result'> | undefined;
    return new Promise((resolve, reject) => {
      const fail = (e: PhasesrClientError) => {
        this.#routes.delete(id);
        reject(e);
      };
      this.#route(id, {
        onMessage: (m) => {
          if (m.type === 'progress') on.progress?.(m);
          else if (m.type === 'batch-result') result = m;
          else if (m.type === 'batch-done') {
            this.#routes.delete(id);
            if (result) resolve({ result, sha256: m.sha256 });
            else reject(new PhasesrClientError('SR_CLIENT_PROTOCOL', 'batch-done without a batch-result', id));
          } else if (m.type === 'error') fail(new PhasesrClientError(m.code, m.message, id));
          else if (m.type === 'cancelled') fail(new PhasesrClientError('SR_ERR_CANCELLED', `cancelled (${m.reason})`, id));
        },
        onFrame: (f) => {
          if (f.header.kind === 'resultChunk') on.chunk(f.payload, (f.header.flags & FLAG_LAST) !== 0);
        },
        onClose: fail,
      });
    });
  }

  /**
   * Sends `size` bytes for request `id` as uploadChunk frames of at most the server's chunk size, waiting
   * while the socket holds more than a high-water mark. `chunks` may yield pieces of any size.
   * @throws PhasesrClientError SR_CLIENT_UPLOAD when the pieces do not add up to `size` (a file that changed)
   */
  async upload(id: number, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, size: number, signal?: AbortSignal): Promise<void> {
    const max = this.uploadChunkBytes;
    let seq = 0;
    let sent = 0;
    for await (const piece of chunks) {
      for (let o = 0; o < piece.byteLength; o += max) {
        signal?.throwIfAborted();
        if (this.#closeError) throw this.#closeError;
        const bytes = piece.subarray(o, o + max);
        sent += bytes.byteLength;
        this.#transport.send(encodeChunk('uploadChunk', id, seq++, bytes, sent >= size));
        while (this.#transport.buffered() > UPLOAD_HIGH_WATER && !this.#closeError) await new Promise((r) => setTimeout(r, 5));
      }
    }
    if (sent !== size) throw new PhasesrClientError('SR_CLIENT_UPLOAD', `file changed while uploading (${sent} of ${size} bytes)`, id);
  }

  /** The largest upload piece the server takes in one frame. */
  get uploadChunkBytes(): number {
    return Math.max(1, Math.min(this.hello.limits.chunkBytes, this.hello.limits.maxPayloadBytes - FRAME_HEADER_BYTES));
  }

  /** Feeds what the socket received: a text message or a binary frame. */
  receive(data: string | Uint8Array): void {
    if (typeof data !== 'string') {
      let frame: Frame;
      try {
        frame = decodeFrame(data);
      } catch (e) {
        return this.onConnectionError(new PhasesrClientError('SR_ERR_BAD_FRAME', (e as Error).message));
      }
      this.#routes.get(frame.header.requestId)?.onFrame?.(frame);
      return;
    }
    let msg: ServerMessage;
    try {
      msg = parseServerMessage(data);
    } catch (e) {
      return this.onConnectionError(new PhasesrClientError('SR_CLIENT_PROTOCOL', `unreadable server message: ${(e as Error).message}`));
    }
    if (msg.type === 'status') return void this.#statusWaiters.shift()?.resolve(msg);
    if (msg.type === 'cancelled') {
      for (const id of msg.ids) this.#routes.get(id)?.onMessage(msg);
      return;
    }
    const id = 'id' in msg ? msg.id : undefined;
    if (id === undefined) {
      if (msg.type === 'error') this.onConnectionError(new PhasesrClientError(msg.code, msg.message));
      return;
    }
    this.#routes.get(id)?.onMessage(msg);
  }

  /** The socket closed: every pending request and status waiter fails with SR_CLIENT_CLOSED. */
  closedBy(reason: string): void {
    if (this.#closeError) return;
    this.#closeError = new PhasesrClientError('SR_CLIENT_CLOSED', `connection closed (${reason})`);
    const routes = [...this.#routes.values()];
    this.#routes.clear();
    for (const r of routes) r.onClose(this.#closeError);
    for (const w of this.#statusWaiters.splice(0)) w.reject(this.#closeError);
  }

  #route(id: number, r: Route): void {
    if (this.#closeError) return r.onClose(this.#closeError);
    this.#routes.set(id, r);
  }
}
