// Test fixtures for the server: a tiny random-weights model (fast on 2 cores, and not a plain bilinear
// upsample, so seams would show), small 16-bit images, a server on 127.0.0.1:0, and a WebSocket client.
import path from 'node:path';

import WebSocket from 'ws';

import { generatorParams, parseConfig, PRESETS, saveModel, writeImage } from '../../models';
import { randomWeights } from '../../models/params';
import { PhasesrServer, type ServerOptions } from '../../server';
import { decodeFrame, parseServerMessage, SUBPROTOCOL, type Frame, type ServerMessage } from '../../server/protocol';
import { tempDir, testTempRoot } from '../helpers/shared';
import { synthImage } from '../helpers/image';

const dir = tempDir('phasesr-server-test-');

/** Widths 8/8/8/8: 8x, the lite layout (DPF, bilinear skip), random weights. */
export const TINY_CONFIG = parseConfig({ ...PRESETS.lite(8), name: 'tiny', widths: [8, 8, 8, 8] });
let tinyModel: Promise<string> | undefined;

export function tinyModelDir(): Promise<string> {
  tinyModel ??= (async () => {
    const d = path.join(dir, 'tiny-model');
    await saveModel(d, TINY_CONFIG, randomWeights(generatorParams(TINY_CONFIG), 5), {
      trained: false,
      description: 'random weights for tests',
      created: new Date(0).toISOString(),
    });
    return d;
  })();
  return tinyModel;
}

/** A 16-bit TIFF of synthImage(w, h, seed) in the test temp folder. */
export async function testImage(
  w: number,
  h: number,
  seed = 1,
  name = `img-${w}x${h}-${seed}.tif`,
): Promise<{ file: string; pixels: Uint16Array }> {
  const file = path.join(dir, name);
  const pixels = Uint16Array.from(synthImage(w, h, seed), (v) => Math.round(v));
  await writeImage(file, { width: w, height: h, dtype: 'uint16', data: pixels });
  return { file, pixels };
}

export interface TestServer {
  server: PhasesrServer;
  url: string;
  wsUrl: string;
  logs: string[];
}

/** A server on 127.0.0.1:0 running the tiny model; the test temp folders are allowed besides opts.allowDirs. */
export async function startServer(opts: Partial<ServerOptions> = {}): Promise<TestServer> {
  const logs: string[] = [];
  const allowDirs = [testTempRoot(), ...(opts.allowDirs ?? [])];
  const server = await PhasesrServer.create({
    port: 0,
    model: await tinyModelDir(),
    threads: 1,
    log: (l) => logs.push(l),
    ...opts,
    allowDirs,
  });
  const url = await server.listen();
  return { server, url, wsUrl: `${url.replace('http:', 'ws:')}/ws`, logs };
}

/** A protocol client that records every message and frame and lets tests wait for them. */
export class TestClient {
  readonly messages: ServerMessage[] = [];
  readonly frames: Frame[] = [];
  closeCode: number | undefined;
  #waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.frames.push(decodeFrame(new Uint8Array(data)));
      else this.messages.push(parseServerMessage(data.toString()));
      this.#notify();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.#notify();
    });
  }

  static async connect(url: string, opts: { headers?: Record<string, string>; protocols?: string[] } = {}): Promise<TestClient> {
    const ws = new WebSocket(url, opts.protocols ?? [SUBPROTOCOL], { headers: opts.headers ?? {} });
    const c = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await c.waitFor((m) => m.type === 'hello');
    return c;
  }

  send(msg: object | string): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** Resolves with the first recorded message matching `pred` (waiting up to `ms`). */
  waitFor<T extends ServerMessage = ServerMessage>(pred: (m: ServerMessage) => boolean, ms = 30_000): Promise<T> {
    return this.#until(() => this.messages.find(pred) as T | undefined, ms, 'message');
  }

  /** The tile frame answering request `id`. */
  frame(id: number, ms = 30_000): Promise<Frame> {
    return this.#until(() => this.frames.find((f) => f.header.requestId === id), ms, `frame ${id}`);
  }

  /** The error answering request `id`. */
  errorFor(id: number, ms = 30_000): Promise<Extract<ServerMessage, { type: 'error' }>> {
    return this.waitFor((m) => m.type === 'error' && m.id === id, ms);
  }

  /** Either the frame or the error for `id`. */
  outcome(id: number, ms = 30_000): Promise<Frame | Extract<ServerMessage, { type: 'error' }>> {
    return this.#until(
      () =>
        this.frames.find((f) => f.header.requestId === id) ??
        (this.messages.find((m) => m.type === 'error' && m.id === id) as Extract<ServerMessage, { type: 'error' }> | undefined),
      ms,
      `outcome ${id}`,
    );
  }

  closed(ms = 10_000): Promise<number> {
    return this.#until(() => this.closeCode, ms, 'close');
  }

  close(): void {
    this.ws.close();
  }

  #notify(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  #until<T>(get: () => T | undefined, ms: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.messages.slice(-5))}`)),
        ms,
      );
      const check = (): void => {
        const v = get();
        if (v !== undefined) {
          clearTimeout(timer);
          resolve(v);
        } else this.#waiters.push(check);
      };
      check();
    });
  }
}

/** Little-endian float32 payload as a Float32Array (copied, so it is aligned). */
export function f32(payload: Uint8Array): Float32Array {
  return new Float32Array(new Uint8Array(payload).buffer);
}

export function u16(payload: Uint8Array): Uint16Array {
  return new Uint16Array(new Uint8Array(payload).buffer);
}
