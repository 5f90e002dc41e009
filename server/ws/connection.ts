// One WebSocket client: typed send helpers, per-request chunk routing (uploads), and an AbortSignal that
// fires on disconnect so every piece of work started for this client can stop.
import type { WebSocket } from 'ws';

import { ServerError } from '../errors';
import { encodeFrame, WS_CLOSE, type ErrorCode, type FrameHeader, type ServerMessage } from '../protocol';

/** Receives the binary uploadChunk frames of one request, in arrival order (each awaited before the next). */
export interface ChunkSink {
  write(seq: number, payload: Uint8Array, last: boolean): Promise<void>;
}

/** Bytes buffered in the socket above which a streamed result waits before its next chunk. */
const HIGH_WATER = 8 << 20;

export class Connection {
  readonly #ws: WebSocket;
  readonly #abort = new AbortController();
  readonly #sinks = new Map<number, ChunkSink>();
  /** Chunk writes run one after another: ws delivers messages faster than files are written. */
  #chunkChain: Promise<void> = Promise.resolve();
  /** Per-connection state of handlers (open images, pending requests, batch jobs), keyed by handler. */
  readonly state = new Map<string, unknown>();

  /**
   * @param maxQueuedBytes bytes sent but not yet read by the client that this connection may hold: tiles past
   *   it are refused (SR_ERR_SLOW_CLIENT), and a connection at twice it is dropped (its client stopped reading)
   */
  constructor(
    readonly id: number,
    ws: WebSocket,
    readonly remote: string,
    private readonly maxQueuedBytes = 64 << 20,
  ) {
    this.#ws = ws;
    ws.once('close', () => this.#abort.abort(new ServerError('SR_ERR_CANCELLED', 'connection closed')));
  }

  /** Aborted when the client disconnects. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get closed(): boolean {
    return this.#abort.signal.aborted;
  }

  send(msg: ServerMessage): void {
    if (this.closed) return;
    // Small replies are never refused, but a client that stops reading while it keeps sending would grow
    // them without end: past twice the bound the connection goes (its memory with it).
    if (this.#ws.bufferedAmount > 2 * this.maxQueuedBytes) return void this.#ws.terminate();
    this.#ws.send(JSON.stringify(msg));
  }

  sendError(code: ErrorCode, message: string, id?: number): void {
    this.send({ type: 'error', code, message, ...(id === undefined ? {} : { id }) });
  }

  /**
   * Sends a binary frame (a tile) at once, or refuses it when the client has not read what it was sent.
   * @throws ServerError SR_ERR_SLOW_CLIENT
   */
  sendFrame(header: FrameHeader, payload: Uint8Array): void {
    if (this.closed) return;
    const queued = this.#ws.bufferedAmount;
    if (queued + payload.byteLength > this.maxQueuedBytes) {
      throw new ServerError(
        'SR_ERR_SLOW_CLIENT',
        `${queued} bytes sent to this connection are still unread (limit ${this.maxQueuedBytes}): read them, then ask again`,
      );
    }
    this.#ws.send(encodeFrame(header, payload));
  }

  /** Sends one chunk of a stream, after waiting until the client has read all but HIGH_WATER bytes. */
  async sendBytes(bytes: Uint8Array): Promise<void> {
    while (!this.closed && this.#ws.bufferedAmount > HIGH_WATER) await new Promise((r) => setTimeout(r, 5));
    if (!this.closed) this.#ws.send(bytes);
  }

  /** Routes uploadChunk frames with this request id to `sink` until `dropChunks(id)`. */
  acceptChunks(id: number, sink: ChunkSink): void {
    this.#sinks.set(id, sink);
  }

  dropChunks(id: number): void {
    this.#sinks.delete(id);
  }

  hasChunkSink(id: number): boolean {
    return this.#sinks.has(id);
  }

  /** Queues a chunk for its sink; a failing write is reported through onError with the request id. */
  deliverChunk(id: number, seq: number, payload: Uint8Array, last: boolean, onError: (e: unknown) => void): boolean {
    const sink = this.#sinks.get(id);
    if (!sink) return false;
    // Copy: the payload is a view into ws's receive buffer.
    const copy = new Uint8Array(payload);
    this.#chunkChain = this.#chunkChain.then(() => (this.#sinks.get(id) === sink ? sink.write(seq, copy, last) : undefined)).catch(onError);
    return true;
  }

  /** Resolves when every chunk delivered so far has been written (upload-end waits for it). */
  chunksSettled(): Promise<void> {
    return this.#chunkChain;
  }

  close(code: number = WS_CLOSE.normal, reason = ''): void {
    this.#ws.close(code, reason);
  }
}
