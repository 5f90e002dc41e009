// One WebSocket client: typed send helpers, per-request chunk routing (uploads), and an AbortSignal that
// fires on disconnect so every piece of work started for this client can stop.
import type { WebSocket } from 'ws';

import { encodeFrame, type ErrorCode, type FrameHeader, type ServerMessage } from '../protocol';

/** Receives the binary uploadChunk frames of one request, in arrival order (each awaited before the next). */
export interface ChunkSink {
  write(seq: number, payload: Uint8Array, last: boolean): Promise<void>;
}

/** Bytes buffered in the socket above which binary senders wait (slow clients do not grow server memory). */
const HIGH_WATER = 8 << 20;

export class Connection {
  readonly #ws: WebSocket;
  readonly #abort = new AbortController();
  readonly #sinks = new Map<number, ChunkSink>();
  /** Chunk writes run one after another: ws delivers messages faster than files are written. */
  #chunkChain: Promise<void> = Promise.resolve();
  /** Per-connection state of handlers (open images, pending requests, batch jobs), keyed by handler. */
  readonly state = new Map<string, unknown>();

  constructor(readonly id: number, ws: WebSocket, readonly remote: string) {
    this.#ws = ws;
    ws.once('close', () => this.#abort.abort(Object.assign(new Error('connection closed'), { code: 'SR_ERR_CANCELLED' })));
  }

  /** Aborted when the client disconnects. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get closed(): boolean {
    return this.#abort.signal.aborted;
  }

  send(msg: ServerMessage): void {
    if (!this.closed) this.#ws.send(JSON.stringify(msg));
  }

  sendError(code: ErrorCode, message: string, id?: number): void {
    this.send({ type: 'error', code, message, ...(id === undefined ? {} : { id }) });
  }

  /** Sends a binary frame; resolves once the socket's buffer is below the high-water mark. */
  async sendFrame(header: FrameHeader, payload: Uint8Array): Promise<void> {
    await this.sendBytes(encodeFrame(header, payload));
  }

  async sendBytes(bytes: Uint8Array): Promise<void> {
    if (this.closed) return;
    this.#ws.send(bytes);
    while (!this.closed && this.#ws.bufferedAmount > HIGH_WATER) await new Promise((r) => setTimeout(r, 5));
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

  close(code = 1000, reason = ''): void {
    this.#ws.close(code, reason);
  }
}
