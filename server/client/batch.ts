// Whole-file jobs for scripts and the CLI: uploading a local file or bytes through the session, and receiving
// a result file (batch, export-region) into `<output>.partial`, renamed only once its size and sha256 match
// what the server announced, so a damaged or cancelled transfer never leaves a file that looks complete.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';

import { PhasesrClientError, type ProtocolSession, type ServerMessageOf } from '../protocol';

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

/** Options of a region export: those of a batch job that make sense without an upload. */
export type RegionExportOptions = Pick<BatchOptions, 'scale' | 'float32' | 'output' | 'onProgress' | 'signal'>;

export interface BatchOutcome {
  result: ServerMessageOf<'batch-result'>;
  sha256: string;
  /** The result file, when `output` was not given. */
  bytes?: Uint8Array;
}

/** A local file or bytes to upload: its size, the name the server sees, and its pieces. */
async function uploadSource(
  input: string | Uint8Array,
  fallbackName: string,
  chunkBytes: number,
): Promise<{ size: number; name: string; pieces: () => AsyncIterable<Uint8Array> | Iterable<Uint8Array> }> {
  if (typeof input === 'string') {
    const { size } = await stat(input);
    return {
      size,
      name: path.basename(input),
      pieces: () => createReadStream(input, { highWaterMark: chunkBytes }) as AsyncIterable<Buffer>,
    };
  }
  return { size: input.byteLength, name: fallbackName, pieces: () => [input] };
}

/** Uploads a local file (or bytes) and opens it on the server. */
export async function uploadImage(
  session: ProtocolSession,
  input: string | Uint8Array,
  name?: string,
): Promise<ServerMessageOf<'image-opened'>['image']> {
  const id = session.nextId();
  const src = await uploadSource(input, 'upload', session.uploadChunkBytes);
  const opened = session.reply(id, 'image-opened').then((m) => m.image);
  session.send({ type: 'upload-begin', id, name: name ?? src.name, bytes: src.size });
  await session.upload(id, src.pieces(), src.size);
  session.send({ type: 'upload-end', id });
  return opened;
}

/** Super-resolves a local file (or bytes) on the server: see PhasesrClient.batch. */
export async function batchJob(session: ProtocolSession, input: string | Uint8Array, opts: BatchOptions): Promise<BatchOutcome> {
  const id = session.nextId();
  const src = await uploadSource(input, 'image.tif', session.uploadChunkBytes);
  // Stops the upload as soon as the job is answered with an error (the server ignores the rest anyway).
  const stopUpload = new AbortController();
  return receiveResult(session, id, opts, stopUpload, async (answered) => {
    session.send({
      type: 'batch-begin',
      id,
      name: opts.name ?? src.name,
      bytes: src.size,
      scale: opts.scale,
      ...(opts.model ? { model: opts.model } : {}),
      ...(opts.float32 ? { float32: true } : {}),
      ...(opts.pixelSizeUm ? { pixelSizeUm: opts.pixelSizeUm } : {}),
    });
    await Promise.race([session.upload(id, src.pieces(), src.size, stopUpload.signal), answered]);
    session.send({ type: 'batch-end', id });
  });
}

/** Super-resolves a region of an image the server has open: see PhasesrClient.exportRegion. */
export function regionJob(
  session: ProtocolSession,
  imageId: string,
  region: { x: number; y: number; width: number; height: number },
  opts: RegionExportOptions,
): Promise<BatchOutcome> {
  const id = session.nextId();
  return receiveResult(session, id, opts, new AbortController(), async () => {
    session.send({ type: 'export-region', id, imageId, ...region, scale: opts.scale, ...(opts.float32 ? { float32: true } : {}) });
  });
}

/** Registers result job `id`, runs `start` (which sends it), and receives the result file. */
async function receiveResult(
  session: ProtocolSession,
  id: number,
  opts: RegionExportOptions,
  stopUpload: AbortController,
  start: (answered: Promise<unknown>) => Promise<void>,
): Promise<BatchOutcome> {
  const partial = opts.output ? `${opts.output}.partial` : undefined;
  const fh = partial ? await open(partial, 'w') : undefined;
  const parts: Uint8Array[] = [];
  const hash = createHash('sha256');
  let writes: Promise<unknown> = Promise.resolve();
  let received = 0;
  const job = session.resultJob(id, {
    ...(opts.onProgress ? { progress: opts.onProgress } : {}),
    chunk: (payload) => {
      hash.update(payload);
      received += payload.byteLength;
      const bytes = new Uint8Array(payload);
      if (fh) writes = writes.then(() => fh.write(bytes));
      else parts.push(bytes);
    },
  });
  let onAbort: (() => void) | undefined;
  const answered = new Promise<Awaited<typeof job>>((resolve, reject) => {
    onAbort = () => {
      if (!session.closed) session.cancel([id]);
      session.abandon([id], new PhasesrClientError('SR_ERR_CANCELLED', 'batch cancelled', id));
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    job.then(resolve, (e: PhasesrClientError) => {
      stopUpload.abort(e);
      reject(e);
    });
  });
  answered.catch(() => undefined); // observed below; no unhandled rejection while uploading
  try {
    opts.signal?.throwIfAborted();
    await start(answered);
    const { result, sha256 } = await answered;
    await writes;
    const local = hash.digest('hex');
    if (received !== result.bytes || local !== sha256) {
      throw new PhasesrClientError(
        'SR_CLIENT_CORRUPT',
        `result arrived damaged (${received} of ${result.bytes} bytes, sha256 ${local.slice(0, 12)} vs ${sha256.slice(0, 12)})`,
        id,
      );
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
    session.abandon([id], new PhasesrClientError('SR_ERR_CANCELLED', 'batch ended', id));
    if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
  }
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
