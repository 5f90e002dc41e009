// A typed client of the phasesr WebSocket protocol for scripts and the CLI (`phasesr batch`): connect
// (token, origin), open or upload images, request tiles (async iterator), cancel, status, and batch
// super-resolution of a file with progress. It imports only the protocol module, `ws` and Node built-ins.
// @example
//   const c = await PhasesrClient.connect('ws://127.0.0.1:8080');
//   await c.batch('cells.tif', { scale: 8, output: 'cells-x8.tif', onProgress: (p) => console.log(p) });
//   c.close();
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';

import WebSocket from 'ws';

import {
  decodeFrame, encodeChunk, FRAME_HEADER_BYTES, parseServerMessage, PROTOCOL_VERSION, RequestTiles, SUBPROTOCOL, WS_PATH,
  type Encoding, type Frame, type FrameHeader, type ImageInfo, type Layer, type ServerMessage, type ServerMessageOf,
} from '../protocol';

export interface ConnectOptions {
  /** Access token (servers bound beyond loopback print one); sent as `Authorization: Bearer`. */
  token?: string;
  /** An Origin header, as a browser page would send; leave it out for scripts (they pass the Origin check). */
  origin?: string;
  /** Name sent in the client hello. */
  client?: string;
  /** Give up connecting after this long (default 10 s). */
  timeoutMs?: number;
}

/** Errors of the client: `code` is a server code (SR_ERR_...), a client one (SR_CLIENT_...), or a socket errno (ECONNREFUSED). */
export class PhasesrClientError extends Error {
  constructor(readonly code: string, message: string, readonly id?: number) {
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

/** One answered tile request: the tile's frame header and payload, or why there is none. */
export type TileOutcome =
  | { ok: true; id: number; request: TileRequestInput; header: FrameHeader; payload: Uint8Array }
  | { ok: false; id: number; request: TileRequestInput; code: string; message: string };

export type BatchProgress = ServerMessageOf<'progress'>;

export interface BatchOptions {
  scale: 2 | 4 | 8;
  model?: string;
  float32?: boolean;
  pixelSizeUm?: number;
  /** Name the server sees (default: the file's base name). */
  name?: string;
  /** Write the result here (through `<output>.partial`, renamed when complete and its sha256 checked); else it is returned as bytes. */
  output?: string;
  onProgress?: (p: BatchProgress) => void;
  /** Aborting sends `cancel` for the job and rejects with SR_ERR_CANCELLED. */
  signal?: AbortSignal;
}

/** Options of {@link PhasesrClient.exportRegion}: those of a batch job that make sense without an upload. */
export type RegionExportOptions = Pick<BatchOptions, 'scale' | 'float32' | 'output' | 'onProgress' | 'signal'>;

export interface BatchOutcome {
  result: ServerMessageOf<'batch-result'>;
  sha256: string;
  /** The result file, when `output` was not given. */
  bytes?: Uint8Array;
}

interface Route {
  onMessage(msg: ServerMessage): void;
  onFrame?(frame: Frame): void;
  onClose(err: PhasesrClientError): void;
}

/** The socket's buffer above which uploads wait. */
const HIGH_WATER = 8 << 20;

export class PhasesrClient {
  readonly #ws: WebSocket;
  readonly #routes = new Map<number, Route>();
  readonly #statusWaiters: ((m: ServerMessageOf<'status'>) => void)[] = [];
  #nextId = 1;
  #closeError: PhasesrClientError | undefined;
  /** Errors the server sent without a request id (a malformed message of ours, say). */
  onConnectionError: (e: PhasesrClientError) => void = () => undefined;

  private constructor(ws: WebSocket, readonly hello: ServerMessageOf<'hello'>, readonly url: string) {
    this.#ws = ws;
    ws.on('message', (data, isBinary) => this.#receive(data as Buffer, isBinary));
    ws.on('close', (code, reason) => {
      this.#closeError = new PhasesrClientError('SR_CLIENT_CLOSED', `connection closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`);
      for (const r of [...this.#routes.values()]) r.onClose(this.#closeError);
      this.#routes.clear();
    });
    ws.on('error', () => undefined); // surfaced through 'close'
  }

  /**
   * Connects to `url` (ws://host:port, http://host:port or either with /ws) and waits for the server's hello.
   * @throws PhasesrClientError ECONNREFUSED (nothing listening), SR_ERR_UNAUTHORIZED / SR_ERR_ORIGIN (refused), SR_CLIENT_TIMEOUT
   */
  static connect(url: string, opts: ConnectOptions = {}): Promise<PhasesrClient> {
    const wsUrl = toWsUrl(url);
    const headers: Record<string, string> = {};
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    const ws = new WebSocket(wsUrl, SUBPROTOCOL, {
      headers, ...(opts.origin ? { origin: opts.origin } : {}), handshakeTimeout: opts.timeoutMs ?? 10_000, maxPayload: 1 << 30,
    });
    return new Promise((resolve, reject) => {
      const fail = (e: PhasesrClientError) => {
        ws.removeAllListeners();
        ws.on('error', () => undefined);
        ws.terminate();
        reject(e);
      };
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          let err = { code: `HTTP_${res.statusCode}`, message: `the server refused the WebSocket (${res.statusCode})` };
          try {
            err = (JSON.parse(body) as { error: typeof err }).error ?? err;
          } catch { /* not our server's JSON */ }
          fail(new PhasesrClientError(err.code, err.message));
        });
      });
      ws.once('error', (e: NodeJS.ErrnoException) => {
        const refused = e.code === 'ECONNREFUSED';
        fail(new PhasesrClientError(e.code ?? 'SR_CLIENT_CONNECT', refused ? `no phasesr server is listening at ${wsUrl}` : `cannot connect to ${wsUrl}: ${e.message}`));
      });
      const timer = setTimeout(() => fail(new PhasesrClientError('SR_CLIENT_TIMEOUT', `no hello from ${wsUrl} within ${opts.timeoutMs ?? 10_000} ms`)), opts.timeoutMs ?? 10_000);
      ws.once('message', (data, isBinary) => {
        clearTimeout(timer);
        let msg: ServerMessage | undefined;
        try {
          msg = isBinary ? undefined : parseServerMessage((data as Buffer).toString());
        } catch { /* handled below */ }
        if (msg?.type !== 'hello') return fail(new PhasesrClientError('SR_CLIENT_PROTOCOL', 'the server did not start with a hello message'));
        if (msg.version !== PROTOCOL_VERSION) return fail(new PhasesrClientError('SR_ERR_PROTOCOL_VERSION', `server speaks protocol ${msg.version}, this client ${PROTOCOL_VERSION}`));
        ws.removeAllListeners();
        const client = new PhasesrClient(ws, msg, wsUrl);
        ws.send(JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION, client: opts.client ?? 'phasesr-client' }));
        resolve(client);
      });
    });
  }

  get closed(): boolean {
    return this.#closeError !== undefined;
  }

  /** Opens a server-side file (inside the server's allowed folders) or an image it already has. */
  openImage(target: { path: string } | { imageId: string }): Promise<ImageInfo> {
    const id = this.#id();
    const p = this.#await(id, 'image-opened').then((m) => m.image);
    this.#send({ type: 'open-image', id, ...target });
    return p;
  }

  /** Uploads a local file (or bytes) and opens it on the server. */
  async uploadImage(input: string | Uint8Array, name?: string): Promise<ImageInfo> {
    const id = this.#id();
    const size = typeof input === 'string' ? (await stat(input)).size : input.byteLength;
    const p = this.#await(id, 'image-opened').then((m) => m.image);
    this.#send({ type: 'upload-begin', id, name: name ?? (typeof input === 'string' ? path.basename(input) : 'upload'), bytes: size });
    await this.#upload(id, input, size);
    this.#send({ type: 'upload-end', id });
    return p;
  }

  /**
   * Requests tiles and yields each outcome as it arrives (tile frames, errors, cancellations), ending when
   * all are answered. Request ids are assigned here (`outcome.id`); pass them to `cancel`.
   * @throws PhasesrClientError SR_ERR_BAD_MESSAGE (at once) for a request the protocol does not allow (negative x, ...)
   */
  requestTiles(requests: TileRequestInput[], onIds?: (ids: number[]) => void): AsyncIterableIterator<TileOutcome> {
    const queue: TileOutcome[] = [];
    let wake: (() => void) | undefined;
    let left = requests.length;
    let closeErr: PhasesrClientError | undefined;
    const push = (o: TileOutcome) => {
      this.#routes.delete(o.id);
      left--;
      queue.push(o);
      wake?.();
    };
    const ids = requests.map(() => this.#id());
    const messages: object[] = [];
    for (let i = 0; i < requests.length; i += 256) {
      const msg = { type: 'tiles', requests: requests.slice(i, i + 256).map((r, k) => ({ id: ids[i + k]!, layer: 'sr', encoding: 'png', priority: 'visible', ...r })) };
      // Checked here: the server refuses a malformed `tiles` message as a whole, with no request id to answer.
      const v = RequestTiles.safeParse(msg);
      if (!v.success) throw new PhasesrClientError('SR_ERR_BAD_MESSAGE', `bad tile request: ${v.error.issues[0]?.path.join('.')}: ${v.error.issues[0]?.message}`);
      messages.push(msg);
    }
    requests.forEach((request, i) => {
      const id = ids[i]!;
      this.#routes.set(id, {
        onMessage: (m) => {
          if (m.type === 'error') push({ ok: false, id, request, code: m.code, message: m.message });
          else if (m.type === 'cancelled') push({ ok: false, id, request, code: 'SR_ERR_CANCELLED', message: `cancelled (${m.reason})` });
        },
        onFrame: (f) => push({ ok: true, id, request, header: f.header, payload: f.payload }),
        onClose: (e) => {
          closeErr = e;
          wake?.();
        },
      });
    });
    onIds?.(ids);
    for (const m of messages) this.#send(m);
    const self = this;
    return (async function* () {
      try {
        while (left > 0 || queue.length > 0) {
          if (queue.length === 0) {
            if (closeErr) throw closeErr;
            await new Promise<void>((r) => (wake = r));
            wake = undefined;
            continue;
          }
          yield queue.shift()!;
        }
      } finally {
        // Stopped early (break): cancel what is still outstanding.
        const open = ids.filter((id) => self.#routes.has(id));
        if (open.length > 0 && !self.closed) self.cancel(open);
        for (const id of open) self.#routes.delete(id);
      }
    })();
  }

  /** Tells the server the tiles now in view: its queued tiles of this image outside them are dropped. */
  viewport(imageId: string, level: number, x0: number, y0: number, x1: number, y1: number): void {
    this.#send({ type: 'viewport', imageId, level, x0, y0, x1, y1 });
  }

  /** Cancels requests (tiles, uploads, batch jobs) by id, or all of this connection's. */
  cancel(ids: number[] | 'all'): void {
    if (ids === 'all') this.#send({ type: 'cancel', all: true });
    else if (ids.length > 0) this.#send({ type: 'cancel', ids });
  }

  closeImage(imageId: string): void {
    this.#send({ type: 'close-image', imageId });
  }

  /** The server's queue and cache counters. */
  status(): Promise<ServerMessageOf<'status'>> {
    return new Promise((resolve, reject) => {
      if (this.#closeError) return reject(this.#closeError);
      this.#statusWaiters.push(resolve);
      this.#send({ type: 'status' });
    });
  }

  /**
   * Super-resolves a local file (or bytes) on the server: uploads it in chunks, reports progress, and writes
   * the result TIFF to `output` (checked against the server's sha256) or returns its bytes.
   * @throws PhasesrClientError with the server's code (SR_ERR_IMAGE_DECODE, SR_ERR_TOO_LARGE, ...) or SR_ERR_CANCELLED
   */
  async batch(input: string | Uint8Array, opts: BatchOptions): Promise<BatchOutcome> {
    const id = this.#id();
    const size = typeof input === 'string' ? (await stat(input)).size : input.byteLength;
    const name = opts.name ?? (typeof input === 'string' ? path.basename(input) : 'image.tif');
    // Stops the upload as soon as the job is answered with an error (the server ignores the rest anyway).
    const stopUpload = new AbortController();
    return this.#resultJob(id, opts, stopUpload, async (done) => {
      this.#send({
        type: 'batch-begin', id, name, bytes: size, scale: opts.scale,
        ...(opts.model ? { model: opts.model } : {}), ...(opts.float32 ? { float32: true } : {}), ...(opts.pixelSizeUm ? { pixelSizeUm: opts.pixelSizeUm } : {}),
      });
      await Promise.race([this.#upload(id, input, size, stopUpload.signal), done]);
      this.#send({ type: 'batch-end', id });
    });
  }

  /**
   * Super-resolves a region (native pixels) of an image the server has open, on the server (no upload):
   * the result equals that region of the whole image's result. Delivered as {@link batch} delivers.
   * @throws PhasesrClientError SR_ERR_NOT_FOUND (no such image), SR_ERR_REGION (not inside it), ...
   */
  exportRegion(imageId: string, region: { x: number; y: number; width: number; height: number }, opts: RegionExportOptions): Promise<BatchOutcome> {
    const id = this.#id();
    return this.#resultJob(id, opts, new AbortController(), async () => {
      this.#send({ type: 'export-region', id, imageId, ...region, scale: opts.scale, ...(opts.float32 ? { float32: true } : {}) });
    });
  }

  /** Sends a job with `start` and receives its result: progress, batch-result, resultChunk frames, batch-done. */
  async #resultJob(id: number, opts: RegionExportOptions, stopUpload: AbortController, start: (done: Promise<string>) => Promise<void>): Promise<BatchOutcome> {
    const partial = opts.output ? `${opts.output}.partial` : undefined;
    const fh = partial ? await open(partial, 'w') : undefined;
    const parts: Uint8Array[] = [];
    const hash = createHash('sha256');
    let writes: Promise<unknown> = Promise.resolve();
    let received = 0;
    let result: ServerMessageOf<'batch-result'> | undefined;
    let onAbort: (() => void) | undefined;
    const done = new Promise<string>((resolve, reject) => {
      const fail = (e: PhasesrClientError) => {
        stopUpload.abort(e);
        reject(e);
      };
      onAbort = () => {
        if (!this.closed) this.cancel([id]);
        fail(new PhasesrClientError('SR_ERR_CANCELLED', 'batch cancelled', id));
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.#routes.set(id, {
        onMessage: (m) => {
          if (m.type === 'progress') opts.onProgress?.(m);
          else if (m.type === 'batch-result') result = m;
          else if (m.type === 'batch-done') resolve(m.sha256);
          else if (m.type === 'error') fail(new PhasesrClientError(m.code, m.message, id));
          else if (m.type === 'cancelled') fail(new PhasesrClientError('SR_ERR_CANCELLED', `batch cancelled (${m.reason})`, id));
        },
        onFrame: (f) => {
          if (f.header.kind !== 'resultChunk') return;
          hash.update(f.payload);
          received += f.payload.byteLength;
          const bytes = new Uint8Array(f.payload);
          if (fh) writes = writes.then(() => fh.write(bytes));
          else parts.push(bytes);
        },
        onClose: fail,
      });
    });
    done.catch(() => undefined); // observed below; no unhandled rejection while uploading
    try {
      opts.signal?.throwIfAborted();
      await start(done);
      const sha256 = await done;
      await writes;
      const local = hash.digest('hex');
      if (!result || received !== result.bytes || local !== sha256) {
        throw new PhasesrClientError('SR_CLIENT_CORRUPT', `result arrived damaged (${received} of ${result?.bytes ?? '?'} bytes, sha256 ${local.slice(0, 12)} vs ${sha256.slice(0, 12)})`, id);
      }
      if (fh && partial && opts.output) {
        await fh.close();
        await rename(partial, opts.output);
        return { result, sha256 };
      }
      return { result, sha256, bytes: concat(parts, received) };
    } catch (e) {
      if (fh) {
        await fh.close().catch(() => undefined);
        await rm(partial!, { force: true });
      }
      throw e;
    } finally {
      this.#routes.delete(id);
      if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Closes the connection (the server cancels this connection's work). */
  close(): Promise<void> {
    if (this.#ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((r) => {
      this.#ws.once('close', () => r());
      this.#ws.close(1000);
    });
  }

  #id(): number {
    const id = this.#nextId;
    this.#nextId = this.#nextId >= 0xfffffffe ? 1 : this.#nextId + 1;
    return id;
  }

  #send(msg: object): void {
    if (this.#closeError) throw this.#closeError;
    this.#ws.send(JSON.stringify(msg));
  }

  /** Waits for the reply `type` to request `id` (an error or cancel for it rejects). */
  #await<T extends ServerMessage['type']>(id: number, type: T): Promise<ServerMessageOf<T>> {
    return new Promise((resolve, reject) => {
      this.#routes.set(id, {
        onMessage: (m) => {
          if (m.type === type) {
            this.#routes.delete(id);
            resolve(m as ServerMessageOf<T>);
          } else if (m.type === 'error' || m.type === 'cancelled') {
            this.#routes.delete(id);
            reject(m.type === 'error' ? new PhasesrClientError(m.code, m.message, id) : new PhasesrClientError('SR_ERR_CANCELLED', 'cancelled', id));
          }
        },
        onClose: reject,
      });
    });
  }

  /** Sends a file or bytes as uploadChunk frames, never more than the server's chunk size, waiting on a full socket. */
  async #upload(id: number, input: string | Uint8Array, size: number, signal?: AbortSignal): Promise<void> {
    const chunk = Math.max(1, Math.min(this.hello.limits.chunkBytes, this.hello.limits.maxPayloadBytes - FRAME_HEADER_BYTES));
    let seq = 0;
    let sent = 0;
    const sendOne = async (bytes: Uint8Array) => {
      signal?.throwIfAborted();
      if (this.#closeError) throw this.#closeError;
      sent += bytes.byteLength;
      this.#ws.send(encodeChunk('uploadChunk', id, seq++, bytes, sent >= size));
      while (this.#ws.bufferedAmount > HIGH_WATER && !this.#closeError) await new Promise((r) => setTimeout(r, 5));
    };
    if (typeof input === 'string') {
      for await (const b of createReadStream(input, { highWaterMark: chunk })) await sendOne(b as Buffer);
    } else {
      for (let o = 0; o < input.byteLength; o += chunk) await sendOne(input.subarray(o, o + chunk));
    }
    if (sent !== size) throw new PhasesrClientError('SR_CLIENT_UPLOAD', `file changed while uploading (${sent} of ${size} bytes)`, id);
  }

  #receive(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      let frame: Frame;
      try {
        frame = decodeFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      } catch (e) {
        return this.onConnectionError(new PhasesrClientError('SR_ERR_BAD_FRAME', (e as Error).message));
      }
      this.#routes.get(frame.header.requestId)?.onFrame?.(frame);
      return;
    }
    let msg: ServerMessage;
    try {
      msg = parseServerMessage(data.toString());
    } catch (e) {
      return this.onConnectionError(new PhasesrClientError('SR_CLIENT_PROTOCOL', `unreadable server message: ${(e as Error).message}`));
    }
    if (msg.type === 'status') return void this.#statusWaiters.shift()?.(msg);
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
}

/** ws://host:port/ws from ws://host:port, http://host:port, with or without the path. */
export function toWsUrl(url: string): string {
  const u = new URL(/^[a-z]+:\/\//i.test(url) ? url : `ws://${url}`);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.pathname === '/' || u.pathname === '') u.pathname = WS_PATH;
  return u.toString();
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}
