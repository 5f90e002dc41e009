// A typed client of the phasesr WebSocket protocol for scripts and the CLI (`phasesr batch`): connect
// (token, origin), open or upload images, request tiles (async iterator), cancel, status, and batch
// super-resolution of a file with progress. The protocol itself is the shared ProtocolSession (the viewer
// uses the same one); this class plugs `ws` into it and adds what only Node has: files.
// @example
//   const c = await PhasesrClient.connect('ws://127.0.0.1:8080');
//   await c.batch('cells.tif', { scale: 8, output: 'cells-x8.tif', onProgress: (p) => console.log(p) });
//   c.close();
import WebSocket from 'ws';

import { type PhasesrClientError, ProtocolSession, type ImageInfo, type ServerMessageOf, type TileRequestInput } from '../protocol';
import { batchJob, regionJob, uploadImage, type BatchOptions, type BatchOutcome, type RegionExportOptions } from './batch';
import { openSocket, type ConnectOptions } from './connect';
import { tileOutcomes, type TileOutcome } from './tiles';

export { PhasesrClientError, type TileRequestInput } from '../protocol';
export type { BatchOptions, BatchOutcome, BatchProgress, RegionExportOptions } from './batch';
export { toWsUrl, type ConnectOptions } from './connect';
export type { TileOutcome } from './tiles';

export class PhasesrClient {
  readonly #ws: WebSocket;
  readonly #session: ProtocolSession;

  private constructor(
    ws: WebSocket,
    readonly hello: ServerMessageOf<'hello'>,
    readonly url: string,
  ) {
    this.#ws = ws;
    this.#session = new ProtocolSession({ send: (d) => ws.send(d), buffered: () => ws.bufferedAmount }, hello);
    ws.on('message', (data: Buffer, isBinary) =>
      this.#session.receive(isBinary ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data.toString()),
    );
    ws.on('close', (code, reason) => this.#session.closedBy(`${code}${reason.length ? ` ${reason.toString()}` : ''}`));
    ws.on('error', () => undefined); // surfaced through 'close'
  }

  /**
   * Connects to `url` (ws://host:port, http://host:port or either with /ws) and waits for the server's hello.
   * @throws PhasesrClientError ECONNREFUSED (nothing listening), SR_ERR_UNAUTHORIZED / SR_ERR_ORIGIN (refused), SR_CLIENT_TIMEOUT
   */
  static async connect(url: string, opts: ConnectOptions = {}): Promise<PhasesrClient> {
    const { ws, hello, url: wsUrl } = await openSocket(url, opts);
    return new PhasesrClient(ws, hello, wsUrl);
  }

  get closed(): boolean {
    return this.#session.closed;
  }

  /** Errors the server sent without a request id (a malformed message of ours, say). */
  set onConnectionError(fn: (e: PhasesrClientError) => void) {
    this.#session.onConnectionError = fn;
  }

  get onConnectionError(): (e: PhasesrClientError) => void {
    return this.#session.onConnectionError;
  }

  /** Opens a server-side file (inside the server's allowed folders) or an image it already has. */
  openImage(target: { path: string } | { imageId: string }): Promise<ImageInfo> {
    return this.#session.openImage(target);
  }

  /** Uploads a local file (or bytes) and opens it on the server. */
  uploadImage(input: string | Uint8Array, name?: string): Promise<ImageInfo> {
    return uploadImage(this.#session, input, name);
  }

  /**
   * Requests tiles and yields each outcome as it arrives (tile frames, errors, cancellations), ending when
   * all are answered. Request ids are assigned here (`outcome.id`); pass them to `cancel`.
   * @throws PhasesrClientError SR_ERR_BAD_MESSAGE (at once) for a request the protocol does not allow (negative x, ...)
   */
  requestTiles(requests: TileRequestInput[], onIds?: (ids: number[]) => void): AsyncIterableIterator<TileOutcome> {
    return tileOutcomes(this.#session, requests, onIds);
  }

  /** Tells the server the tiles now in view: its queued tiles of this image outside them are dropped. */
  viewport(imageId: string, level: number, x0: number, y0: number, x1: number, y1: number): void {
    this.#session.viewport(imageId, level, x0, y0, x1, y1);
  }

  /** Cancels requests (tiles, uploads, batch jobs) by id, or all of this connection's. */
  cancel(ids: number[] | 'all'): void {
    this.#session.cancel(ids);
  }

  closeImage(imageId: string): void {
    this.#session.closeImage(imageId);
  }

  /** The server's queue and cache counters. */
  status(): Promise<ServerMessageOf<'status'>> {
    return this.#session.status();
  }

  /**
   * Super-resolves a local file (or bytes) on the server: uploads it in chunks, reports progress, and writes
   * the result TIFF to `output` (checked against the server's sha256) or returns its bytes.
   * @throws PhasesrClientError with the server's code (SR_ERR_IMAGE_DECODE, SR_ERR_TOO_LARGE, ...) or SR_ERR_CANCELLED
   */
  batch(input: string | Uint8Array, opts: BatchOptions): Promise<BatchOutcome> {
    return batchJob(this.#session, input, opts);
  }

  /**
   * Super-resolves a region (native pixels) of an image the server has open, on the server (no upload):
   * the result equals that region of the whole image's result. Delivered as {@link batch} delivers.
   * @throws PhasesrClientError SR_ERR_NOT_FOUND (no such image), SR_ERR_REGION (not inside it), ...
   */
  exportRegion(
    imageId: string,
    region: { x: number; y: number; width: number; height: number },
    opts: RegionExportOptions,
  ): Promise<BatchOutcome> {
    return regionJob(this.#session, imageId, region, opts);
  }

  /** Closes the connection (the server cancels this connection's work). */
  close(): Promise<void> {
    if (this.#ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((r) => {
      this.#ws.once('close', () => r());
      this.#ws.close(1000);
    });
  }
}
