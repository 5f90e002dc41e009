// The WebSocket endpoint: handshake checks (path, token, Origin, subprotocol), then one message loop per
// connection that validates every message with the protocol module and dispatches it to a registered
// handler. A bad message gets an error reply with a code; the connection stays usable.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

import { WebSocketServer, type RawData, type WebSocket } from 'ws';

import { toWireError } from '../errors';
import {
  closeCodeOf,
  WS_CLOSE,
  decodeFrame,
  FLAG_LAST,
  type MessageError,
  parseClientMessage,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
  WS_PATH,
  type ClientMessage,
  type ClientMessageOf,
  type ClientMessageType,
  type ServerMessageOf,
} from '../protocol';
import type { RequestGuard } from '../http/security';
import { Connection } from './connection';

/** Handles one message type; a thrown coded error becomes an `error` reply carrying the message's id. */
export type MessageHandler<T extends ClientMessageType> = (msg: ClientMessageOf<T>, conn: Connection) => void | Promise<void>;

export type CancelHook = (conn: Connection, ids: number[] | 'all') => number[] | Promise<number[]>;

export interface WsHubOptions {
  maxPayloadBytes: number;
  /** Unread bytes one connection may hold (Connection's bound). */
  maxQueuedBytes: number;
  guard: RequestGuard;
  /** The hello every connection gets first. */
  hello: () => ServerMessageOf<'hello'>;
  log: (line: string) => void;
}

export class WsHub {
  readonly #wss: WebSocketServer;
  readonly #handlers = new Map<ClientMessageType, MessageHandler<never>>();
  readonly #connections = new Set<Connection>();
  readonly #onClose: ((conn: Connection) => void)[] = [];
  readonly #onCancel: CancelHook[] = [];
  #nextId = 1;

  constructor(private readonly opts: WsHubOptions) {
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.maxPayloadBytes,
      // Offered phasesr.v1 is selected; a client offering only other protocols gets none and fails its own handshake.
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
    this.register('hello', (msg, conn) => {
      if (msg.version !== PROTOCOL_VERSION) {
        conn.sendError('SR_ERR_PROTOCOL_VERSION', `this server speaks protocol version ${PROTOCOL_VERSION}, the client ${msg.version}`);
        conn.close(closeCodeOf('SR_ERR_PROTOCOL_VERSION'), 'protocol version');
      }
    });
    // One `cancel` for every kind of request: each hook cancels what it owns and returns those ids.
    this.register('cancel', async (msg, conn) => {
      const which = msg.all ? 'all' : (msg.ids ?? []);
      const ids: number[] = [];
      for (const hook of this.#onCancel) ids.push(...(await hook(conn, which)));
      if (ids.length > 0) conn.send({ type: 'cancelled', ids, reason: 'client' });
    });
  }

  /**
   * Adds a canceller for `cancel` messages: given the ids (or 'all'), it stops this connection's requests
   * it owns (tiles, uploads, batch jobs) and returns their ids; the hub answers `cancelled` with all of them.
   */
  onCancel(hook: CancelHook): void {
    this.#onCancel.push(hook);
  }

  /**
   * Adds (or replaces) the handler of a message type.
   * @example hub.register('batch-begin', async (msg, conn) => { ... conn.acceptChunks(msg.id, sink) ... });
   */
  register<T extends ClientMessageType>(type: T, handler: MessageHandler<T>): void {
    this.#handlers.set(type, handler as MessageHandler<never>);
  }

  /** Called when a connection closes (after its signal aborted): handlers drop its state here. */
  onConnectionClose(fn: (conn: Connection) => void): void {
    this.#onClose.push(fn);
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** The http server's 'upgrade' event. Refusals are plain HTTP responses with a JSON error body. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== WS_PATH)
      return refuse(socket, 404, 'SR_ERR_NOT_FOUND', `no WebSocket endpoint at ${url.pathname} (use ${WS_PATH})`);
    const denied = this.opts.guard.check(req);
    if (denied) return refuse(socket, denied.status, denied.code, denied.message);
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, req));
  }

  async close(): Promise<void> {
    for (const c of this.#connections) c.close(WS_CLOSE.goingAway, 'server shutting down');
    await new Promise<void>((r) => this.#wss.close(() => r()));
  }

  #accept(ws: WebSocket, req: IncomingMessage): void {
    const conn = new Connection(this.#nextId++, ws, req.socket.remoteAddress ?? '?', this.opts.maxQueuedBytes);
    this.#connections.add(conn);
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) this.#onBinary(conn, toBytes(data));
      else void this.#onText(conn, data.toString());
    });
    ws.on('error', (e) => this.opts.log(`ws #${conn.id}: ${e.message}`));
    ws.on('close', () => {
      this.#connections.delete(conn);
      for (const fn of this.#onClose) {
        try {
          fn(conn);
        } catch (e) {
          this.opts.log(`ws #${conn.id} close handler: ${(e as Error).stack}`);
        }
      }
    });
    conn.send(this.opts.hello());
  }

  async #onText(conn: Connection, text: string): Promise<void> {
    let msg: ClientMessage;
    try {
      msg = parseClientMessage(text);
    } catch (e) {
      const err = e as MessageError;
      conn.sendError(err.code, err.message, err.id);
      return;
    }
    const handler = this.#handlers.get(msg.type) as MessageHandler<typeof msg.type> | undefined;
    const id = 'id' in msg ? msg.id : undefined;
    if (!handler) return conn.sendError('SR_ERR_UNKNOWN_TYPE', `'${msg.type}' is not handled by this server`, id);
    try {
      await (handler as (m: typeof msg, c: Connection) => unknown)(msg, conn);
    } catch (e) {
      const w = toWireError(e);
      if (w.internal) this.opts.log(`ws #${conn.id} ${msg.type}: ${(e as Error)?.stack ?? String(e)}`);
      conn.sendError(w.code, w.message, id);
    }
  }

  #onBinary(conn: Connection, bytes: Uint8Array): void {
    let frame;
    try {
      frame = decodeFrame(bytes);
    } catch (e) {
      return conn.sendError('SR_ERR_BAD_FRAME', (e as Error).message);
    }
    const h = frame.header;
    if (h.kind !== 'uploadChunk')
      return conn.sendError('SR_ERR_BAD_FRAME', `clients send only uploadChunk frames, got ${h.kind}`, h.requestId);
    const ok = conn.deliverChunk(h.requestId, h.x, frame.payload, (h.flags & FLAG_LAST) !== 0, (e) => {
      const w = toWireError(e);
      conn.dropChunks(h.requestId);
      conn.sendError(w.code, w.message, h.requestId);
    });
    if (!ok) conn.sendError('SR_ERR_UPLOAD', `no upload in progress with id ${h.requestId}`, h.requestId);
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function refuse(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${code}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
