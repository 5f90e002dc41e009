// One upload being written to disk: a declared size, chunks in order (WebSocket) or a stream (HTTP body),
// a sha256 computed on the way, and removal of the partial file on any failure. Shared by image uploads
// and batch jobs.
import { createHash, type Hash } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

import { ServerError } from '../errors';
import type { ChunkSink } from '../ws/connection';
import type { ClientSlots } from './client-slots';

export interface FinishedUpload {
  path: string;
  bytes: number;
  sha256: string;
}

/** Whose upload this is, and the slots it counts against (held from create until finish or abort). */
export interface UploadOwner {
  slots: ClientSlots;
  client: string;
}

export class UploadFile implements ChunkSink {
  #fh: FileHandle | undefined;
  #release: () => void = () => undefined;
  #hash: Hash = createHash('sha256');
  #received = 0;
  #nextSeq = 0;
  #lastSeen = false;
  #done = false;

  private constructor(
    readonly path: string,
    readonly expectedBytes: number | undefined,
    readonly maxBytes: number,
    fh: FileHandle,
  ) {
    this.#fh = fh;
  }

  /**
   * Creates the file in `dir` (a safe name derived from `name`). `expectedBytes` (when known) must not exceed
   * `maxBytes`. With an `owner`, the upload takes one of its slots until finish() or abort().
   * @throws ServerError SR_ERR_TOO_LARGE, SR_ERR_TOO_MANY, SR_ERR_IO (the file cannot be created; no path in the message)
   */
  static async create(
    dir: string,
    name: string,
    expectedBytes: number | undefined,
    maxBytes: number,
    owner?: UploadOwner,
  ): Promise<UploadFile> {
    if (expectedBytes !== undefined && expectedBytes > maxBytes) {
      throw new ServerError('SR_ERR_TOO_LARGE', `upload of ${expectedBytes} bytes exceeds the limit of ${maxBytes}`);
    }
    const release = owner ? owner.slots.acquire(owner.client) : () => undefined;
    const safe =
      path
        .basename(name)
        .replace(/[^\w.-]+/g, '_')
        .slice(-100) || 'upload';
    const file = path.join(dir, `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}-${safe}`);
    let fh: FileHandle;
    try {
      fh = await open(file, 'wx');
    } catch (e) {
      release();
      // The server's folders are none of the client's business: the code and the reason, not the path.
      throw new ServerError('SR_ERR_IO', `cannot store the upload on the server (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const up = new UploadFile(file, expectedBytes, maxBytes, fh);
    up.#release = release;
    return up;
  }

  get receivedBytes(): number {
    return this.#received;
  }

  /** Appends chunk `seq` (must be the next one). @throws ServerError SR_ERR_UPLOAD, SR_ERR_TOO_LARGE */
  async write(seq: number, payload: Uint8Array, last: boolean): Promise<void> {
    if (this.#done || this.#lastSeen) throw await this.#fail('SR_ERR_UPLOAD', 'chunk after the last one');
    if (seq !== this.#nextSeq) throw await this.#fail('SR_ERR_UPLOAD', `chunk ${seq} arrived, expected ${this.#nextSeq}`);
    await this.#append(payload);
    this.#nextSeq++;
    this.#lastSeen = last;
  }

  /** Streams an HTTP body into the file. */
  async writeStream(body: Readable): Promise<void> {
    for await (const chunk of body) await this.#append(chunk as Buffer);
    this.#lastSeen = true;
  }

  /** Checks the size and closes the file. @throws ServerError SR_ERR_UPLOAD when bytes are missing */
  async finish(): Promise<FinishedUpload> {
    if (this.#done) throw new ServerError('SR_ERR_UPLOAD', 'upload already finished or aborted');
    if (this.expectedBytes !== undefined && this.#received !== this.expectedBytes) {
      throw await this.#fail('SR_ERR_UPLOAD', `upload ended after ${this.#received} of ${this.expectedBytes} bytes`);
    }
    if (this.#received === 0) throw await this.#fail('SR_ERR_UPLOAD', 'upload is empty');
    await this.#fh?.close();
    this.#fh = undefined;
    this.#done = true;
    this.#release();
    return { path: this.path, bytes: this.#received, sha256: this.#hash.digest('hex') };
  }

  /** Closes and deletes the partial file (idempotent). */
  async abort(): Promise<void> {
    this.#done = true;
    const fh = this.#fh;
    this.#fh = undefined;
    await fh?.close().catch(() => undefined);
    await rm(this.path, { force: true });
    this.#release();
  }

  async #append(bytes: Uint8Array): Promise<void> {
    if (!this.#fh) throw new ServerError('SR_ERR_UPLOAD', 'upload is closed');
    const total = this.#received + bytes.byteLength;
    const limit = Math.min(this.maxBytes, this.expectedBytes ?? Infinity);
    if (total > limit) {
      throw await this.#fail(
        total > this.maxBytes ? 'SR_ERR_TOO_LARGE' : 'SR_ERR_UPLOAD',
        `upload exceeds ${limit === this.maxBytes ? 'the limit of' : 'its declared'} ${limit} bytes`,
      );
    }
    await this.#fh.write(bytes);
    this.#hash.update(bytes);
    this.#received = total;
  }

  async #fail(code: 'SR_ERR_UPLOAD' | 'SR_ERR_TOO_LARGE', message: string): Promise<ServerError> {
    await this.abort();
    return new ServerError(code, message);
  }
}
