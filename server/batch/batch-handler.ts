// The WebSocket batch API: batch-begin {id, name, bytes, scale, ...}, uploadChunk frames (requestId = id),
// batch-end; then progress, batch-result, resultChunk frames and batch-done {sha256}. The upload goes to a
// temp file as it arrives (never whole in memory), the job runs in the shared SrJobs queue, and a cancel or
// a disconnect aborts it and removes its files. One error per failed job; its later chunks are ignored.
// export-region {id, imageId, x, y, width, height, scale} is answered the same way, with no upload: a region
// of an image the server has open, super-resolved from its source.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';

import { ServerError, toWireError } from '../errors';
import { UploadFile } from '../images/upload-file';
import type { ImageStore } from '../images/image-store';
import { encodeChunk, type ClientMessageOf } from '../protocol';
import type { Connection } from '../ws/connection';
import type { SrJobResult, SrJobs } from './sr-job';

/** Batch jobs one connection may have in flight (uploading, queued or running). */
export const MAX_BATCH_JOBS_PER_CONNECTION = 4;

type JobState = 'upload' | 'running' | 'failed' | 'cancelled';

interface BatchJob {
  id: number;
  /** Absent for a region export. */
  begin?: ClientMessageOf<'batch-begin'>;
  /** The temp file, being created (a failure is reported as the job's error); absent for a region export. */
  upload?: Promise<UploadFile>;
  state: JobState;
  abort: AbortController;
  /** Set by the first batch-end: a repeated one is answered by that first one. */
  ending?: true;
}

export interface BatchHandlerOptions {
  jobs: SrJobs;
  /** The open images region exports read. */
  store: ImageStore;
  maxUploadBytes: number;
  chunkBytes: number;
  log: (line: string) => void;
}

const STATE_KEY = 'batch';

export class BatchHandler {
  constructor(private readonly opts: BatchHandlerOptions) {}

  /**
   * Synchronous up to acceptChunks on purpose: the client sends chunks right after batch-begin, and ws
   * delivers them before an awaited handler would have registered the sink.
   */
  begin(msg: ClientMessageOf<'batch-begin'>, conn: Connection): void {
    const jobs = jobsOf(conn);
    if (jobs.has(msg.id) || conn.hasChunkSink(msg.id))
      throw new ServerError('SR_ERR_DUPLICATE_ID', `request id ${msg.id} is already in use`);
    this.#checkRoom(jobs);
    if (msg.bytes > this.opts.maxUploadBytes)
      throw new ServerError('SR_ERR_TOO_LARGE', `upload of ${msg.bytes} bytes exceeds the limit of ${this.opts.maxUploadBytes}`);
    const upload = UploadFile.create(this.opts.jobs.workDir, msg.name, msg.bytes, this.opts.maxUploadBytes, {
      slots: this.opts.store.uploads,
      client: `ws:${conn.id}`,
    });
    const job: BatchJob = { id: msg.id, begin: msg, upload, state: 'upload', abort: new AbortController() };
    upload.catch((e: unknown) => this.#fail(job, conn, e));
    jobs.set(msg.id, job);
    let lastReport = 0;
    conn.acceptChunks(msg.id, {
      write: async (seq, payload, last) => {
        if (job.state !== 'upload') return; // failed or cancelled: the rest of its chunks are dropped quietly
        try {
          await (await upload).write(seq, payload, last);
        } catch (e) {
          await this.#fail(job, conn, e);
          return;
        }
        const done = (await upload).receivedBytes;
        // Progress at most every 1% (and at the end): a 4 GB upload in 4 MB chunks would be 1000 messages.
        if (last || done - lastReport >= msg.bytes / 100) {
          lastReport = done;
          conn.send({ type: 'progress', id: msg.id, stage: 'upload', done, total: msg.bytes });
        }
      },
    });
  }

  async end(msg: ClientMessageOf<'batch-end'>, conn: Connection): Promise<void> {
    const jobs = jobsOf(conn);
    const job = jobs.get(msg.id);
    if (!job?.upload || !job.begin) throw new ServerError('SR_ERR_NOT_FOUND', `no batch job with id ${msg.id} (send batch-begin first)`);
    if (job.ending) return;
    job.ending = true;
    await conn.chunksSettled();
    conn.dropChunks(msg.id);
    if (job.state !== 'upload') {
      // Already answered (error or cancelled): batch-end only closes the id.
      jobs.delete(msg.id);
      return;
    }
    const { upload, begin: b } = job;
    await this.#runJob(job, conn, async (signal) => {
      const up = await (await upload).finish();
      const r = await this.opts.jobs.run({
        input: up.path,
        displayName: path.basename(b.name),
        scale: b.scale as 2 | 4 | 8,
        model: b.model,
        float32: b.float32,
        pixelSizeUm: b.pixelSizeUm,
        signal,
        onProgress: (stage, done, total) => conn.send({ type: 'progress', id: msg.id, stage, done, total }),
      });
      return { name: resultName(b.name, b.scale), result: r };
    });
  }

  /** A region of an open image, super-resolved on the server and sent back as batch-end's result is. */
  async region(msg: ClientMessageOf<'export-region'>, conn: Connection): Promise<void> {
    const jobs = jobsOf(conn);
    if (jobs.has(msg.id) || conn.hasChunkSink(msg.id))
      throw new ServerError('SR_ERR_DUPLICATE_ID', `request id ${msg.id} is already in use`);
    this.#checkRoom(jobs);
    const img = this.opts.store.get(msg.imageId);
    const region = { x: msg.x, y: msg.y, width: msg.width, height: msg.height };
    if (region.x + region.width > img.width || region.y + region.height > img.height) {
      throw new ServerError(
        'SR_ERR_REGION',
        `region ${region.width}x${region.height}+${region.x}+${region.y} is not inside the ${img.width}x${img.height} image`,
      );
    }
    const job: BatchJob = { id: msg.id, state: 'running', abort: new AbortController() };
    jobs.set(msg.id, job);
    await this.#runJob(job, conn, async (signal) => {
      const r = await this.opts.jobs.runRegion({
        image: img,
        region,
        scale: msg.scale,
        float32: msg.float32,
        signal,
        onProgress: (stage, done, total) => conn.send({ type: 'progress', id: msg.id, stage, done, total }),
      });
      return { name: resultName(`${stemOf(img.name)}_x${region.x}_y${region.y}_${region.width}x${region.height}`, msg.scale), result: r };
    });
  }

  /** Runs a job and streams its result file (batch-result, resultChunk frames, batch-done); removes its files. */
  async #runJob(
    job: BatchJob,
    conn: Connection,
    work: (signal: AbortSignal) => Promise<{ name: string; result: SrJobResult }>,
  ): Promise<void> {
    const jobs = jobsOf(conn);
    job.state = 'running';
    const signal = AbortSignal.any([conn.signal, job.abort.signal]);
    let output: string | undefined;
    try {
      const { name, result: r } = await work(signal);
      output = r.path;
      const { size } = await stat(r.path);
      conn.send({
        type: 'batch-result',
        id: job.id,
        name,
        bytes: size,
        width: r.width,
        height: r.height,
        dtype: r.dtype,
        ...(r.pixelSize ? { pixelSize: r.pixelSize } : {}),
        ms: Math.round(r.ms),
        ...(r.warnings.length ? { warnings: r.warnings } : {}),
      });
      const sha256 = await this.#sendFile(conn, job.id, r.path, size, signal);
      if (sha256) conn.send({ type: 'batch-done', id: job.id, sha256 });
    } catch (e) {
      // A cancel was answered by `cancelled`, a disconnect has nobody to tell.
      // (`state` is changed by cancel() meanwhile: read it through the object, not the narrowed type.)
      if ((job.state as JobState) !== 'cancelled' && !conn.closed) {
        job.state = 'failed';
        throw e;
      }
    } finally {
      jobs.delete(job.id);
      await abortUpload(job);
      if (output) await rm(output, { force: true });
    }
  }

  #checkRoom(jobs: Map<number, BatchJob>): void {
    const live = [...jobs.values()].filter((j) => j.state === 'upload' || j.state === 'running').length;
    if (live >= MAX_BATCH_JOBS_PER_CONNECTION)
      throw new ServerError('SR_ERR_BUSY', `${live} batch jobs are already in flight on this connection; wait for one to finish`);
  }

  /** Cancels this connection's batch jobs among `ids` (or all); returns the ids it cancelled. */
  cancel(conn: Connection, ids: number[] | undefined, all: boolean): number[] {
    const cancelled: number[] = [];
    for (const job of jobsOf(conn).values()) {
      if (!(all || ids?.includes(job.id)) || (job.state !== 'upload' && job.state !== 'running')) continue;
      const wasUploading = job.state === 'upload';
      job.state = 'cancelled';
      job.abort.abort(new ServerError('SR_ERR_CANCELLED', 'cancelled by the client'));
      if (wasUploading) void abortUpload(job);
      cancelled.push(job.id);
    }
    return cancelled;
  }

  /** The connection closed: its signal aborted the running jobs; remove what is left on disk. */
  async closed(conn: Connection): Promise<void> {
    for (const job of jobsOf(conn).values()) {
      job.abort.abort(new ServerError('SR_ERR_CANCELLED', 'connection closed'));
      if (job.state !== 'running') await abortUpload(job);
    }
  }

  async #fail(job: BatchJob, conn: Connection, e: unknown): Promise<void> {
    if (job.state !== 'upload') return;
    job.state = 'failed';
    await abortUpload(job);
    const w = toWireError(e);
    if (w.internal) this.opts.log(`batch #${conn.id}/${job.id}: ${(e as Error)?.stack ?? String(e)}`);
    conn.sendError(w.code, w.message, job.id);
  }

  /** Streams the result as resultChunk frames (waiting on a slow client), hashing it on the way. */
  async #sendFile(conn: Connection, id: number, file: string, size: number, signal: AbortSignal): Promise<string | undefined> {
    const hash = createHash('sha256');
    let seq = 0;
    let sent = 0;
    for await (const chunk of createReadStream(file, { highWaterMark: this.opts.chunkBytes })) {
      signal.throwIfAborted();
      const bytes = chunk as Buffer;
      hash.update(bytes);
      sent += bytes.byteLength;
      await conn.sendBytes(encodeChunk('resultChunk', id, seq++, bytes, sent === size));
      conn.send({ type: 'progress', id, stage: 'result', done: sent, total: size });
    }
    if (sent !== size) throw new ServerError('SR_ERR_IO', `result file changed while it was sent (${sent} of ${size} bytes)`);
    return conn.closed ? undefined : hash.digest('hex');
  }
}

/** `cells.tif` at 8x -> `cells-x8.tif` (always TIFF: any dtype, any size, pixel size kept). */
export function resultName(name: string, scale: number): string {
  return `${stemOf(name) || 'image'}-x${scale}.tif`;
}

function stemOf(name: string): string {
  const base = path.basename(name);
  return base.includes('.') ? base.slice(0, base.lastIndexOf('.')) : base;
}

/** Closes and deletes the job's temp upload (idempotent; nothing to do when it was never created). */
async function abortUpload(job: BatchJob): Promise<void> {
  await job.upload?.then(
    (u) => u.abort(),
    () => undefined,
  );
}

function jobsOf(conn: Connection): Map<number, BatchJob> {
  let m = conn.state.get(STATE_KEY) as Map<number, BatchJob> | undefined;
  if (!m) {
    m = new Map();
    conn.state.set(STATE_KEY, m);
  }
  return m;
}
