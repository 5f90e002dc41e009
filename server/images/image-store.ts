// The images the server has open, shared by all connections: opened by server-side path (inside the
// allowed folders), by upload, or at start. Identical content is opened once (one id per content and
// server); opening checks the pixel count from the header before anything is decoded, and computes the
// percentiles once. Bounded: images in total (idle REST images make room), uploads in progress.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import sharp, { type Metadata } from 'sharp';

import { ImageSource, imagePercentiles, NORMALISATION_PERCENTILES } from '../../models';
import type { PercentileResult } from '../../models/io/percentiles';
import { nameFileInError, ServerError } from '../errors';
import { AllowedPaths } from './allowed-paths';
import { ClientSlots } from './client-slots';
import { ExchangeDir } from './exchange-dir';
import { displayName, ServedImage } from './served-image';
import type { FinishedUpload } from './upload-file';

export interface ImageStoreOptions {
  allowDirs: string[];
  /** The private exchange folder (default: a fresh one in the OS temp folder). */
  exchangeDir?: string;
  uploadDir?: string;
  maxImagePixels: number;
  modelScale: number;
  halo: number;
  blockSize: number;
  maxUploadsPerClient: number;
  maxUploads: number;
  maxOpenImages: number;
  /** REST-held images close after this long unused. */
  imageIdleMs: number;
  /** With --redis: images go into the shared folder and their percentiles are shared (server/scale/). */
  shared?: SharedImages;
  log: (line: string) => void;
}

/** Where images live when several processes serve them: every worker must read the same file. */
export interface SharedImages {
  /** Puts the file where every process sees it; returns its absolute path there. */
  place(file: string, sha256: string, owned: boolean): Promise<string>;
  /** Percentiles computed once per image across processes. */
  percentiles(sha256: string, compute: () => Promise<PercentileResult>): Promise<PercentileResult & { computed: boolean }>;
}

interface OpenOptions {
  name?: string;
  /** The operator's images (start-up, the sample): never closed until the server stops. */
  pinned?: boolean;
  /** Opened over REST: kept without a holder until idle for imageIdleMs (or evicted to make room). */
  rest?: boolean;
  /** A WebSocket upload: not listed to other clients (they can open it only if given its id). */
  unlisted?: boolean;
  /** Connection id that holds the image open. */
  holder?: number;
  ownsFile?: boolean;
  sha256?: string;
}

export class ImageStore {
  readonly #images = new Map<string, ServedImage>();
  readonly #opening = new Map<string, Promise<ServedImage>>();
  readonly #onClose: ((img: ServedImage) => void)[] = [];
  /** Image ids are an HMAC of the content hash under this per-server key: unguessable by other sites. */
  readonly #idKey = randomBytes(32);
  readonly #sweep: NodeJS.Timeout;
  /** Uploads in progress (each holds a file open), per client and in total; every upload path takes one. */
  readonly uploads: ClientSlots;

  private constructor(
    readonly allowed: AllowedPaths,
    readonly exchange: ExchangeDir,
    readonly uploadDir: string,
    private readonly opts: ImageStoreOptions,
    private readonly ownsUploadDir: boolean,
  ) {
    this.uploads = new ClientSlots('uploads in progress', opts.maxUploadsPerClient, opts.maxUploads);
    this.#sweep = setInterval(() => void this.#closeIdle(), Math.max(50, Math.min(opts.imageIdleMs / 4, 60_000))).unref();
  }

  static async create(opts: ImageStoreOptions): Promise<ImageStore> {
    // Besides the operator's folders, only the server's private exchange folder (where the Fiji bridge puts
    // images) is open by path; the OS temp folder is not: any user can write there.
    const exchange = await ExchangeDir.create(opts.exchangeDir);
    try {
      const allowed = await AllowedPaths.create([exchange.path, ...opts.allowDirs]);
      const uploadDir = opts.uploadDir ?? (await mkdtemp(path.join(os.tmpdir(), 'phasesr-uploads-')));
      return new ImageStore(allowed, exchange, uploadDir, opts, opts.uploadDir === undefined);
    } catch (e) {
      await exchange.close();
      throw e;
    }
  }

  /** Opens a client-named server-side file. @throws SR_ERR_PATH_FORBIDDEN, SR_ERR_NOT_FOUND, image errors */
  async openPath(p: string, opts: OpenOptions = {}): Promise<ServedImage> {
    return this.openFile(await this.allowed.resolve(p), opts);
  }

  /** Opens a file the operator named (no folder check) or an upload. */
  async openFile(file: string, opts: OpenOptions = {}): Promise<ServedImage> {
    const sha256 = opts.sha256 ?? (await hashFile(file));
    const id = createHmac('sha256', this.#idKey).update(sha256).digest('hex').slice(0, 16);
    let img = this.#images.get(id);
    if (!img) {
      let pending = this.#opening.get(id);
      if (!pending) {
        pending = this.#open(file, id, sha256, opts).finally(() => this.#opening.delete(id));
        this.#opening.set(id, pending);
      }
      try {
        img = await pending;
      } catch (e) {
        if (opts.ownsFile) await rm(file, { force: true });
        throw e;
      }
    } else if (opts.ownsFile && file !== img.source.path) {
      await rm(file, { force: true }); // same content already open: the new copy is not needed
    }
    if (opts.pinned) img.pinned = true;
    if (opts.rest) img.restHeld = true;
    if (!opts.unlisted) img.unlisted = false; // opened another way too: no longer one client's upload
    if (opts.holder !== undefined) img.holders.add(opts.holder);
    img.touch();
    return img;
  }

  /** Errors name the upload by `name` (the client's file name), not by its temp path. */
  async openUpload(up: FinishedUpload, name: string, opts: OpenOptions = {}): Promise<ServedImage> {
    try {
      return await this.openFile(up.path, { ...opts, name, sha256: up.sha256, ownsFile: true });
    } catch (e) {
      // The upload folder is the server's: neither the temp name nor the folder goes back to the client.
      throw nameFileInError(nameFileInError(e, up.path, name), this.uploadDir, "(the server's upload folder)");
    }
  }

  /** @throws ServerError SR_ERR_NOT_FOUND */
  get(id: string): ServedImage {
    const img = this.#images.get(id);
    if (!img) throw new ServerError('SR_ERR_NOT_FOUND', `no open image ${id}`);
    img.touch();
    return img;
  }

  has(id: string): boolean {
    return this.#images.has(id);
  }

  /** Every open image (counts, shutdown). */
  list(): ServedImage[] {
    return [...this.#images.values()];
  }

  /** The images any client may see listed: all but other clients' WebSocket uploads. */
  listed(): ServedImage[] {
    return this.list().filter((i) => !i.unlisted);
  }

  /** Drops a connection's hold; closes images nobody holds (unless pinned or REST-held). */
  async release(id: string, holder: number): Promise<void> {
    const img = this.#images.get(id);
    if (!img) return;
    img.holders.delete(holder);
    if (img.holders.size === 0 && !img.pinned && !img.restHeld) await this.#close(img);
  }

  /** Closes an image whatever holds it (REST DELETE). */
  async remove(id: string): Promise<void> {
    await this.#close(this.get(id));
  }

  onImageClosed(fn: (img: ServedImage) => void): void {
    this.#onClose.push(fn);
  }

  async close(): Promise<void> {
    clearInterval(this.#sweep);
    for (const img of [...this.#images.values()]) await this.#close(img);
    if (this.ownsUploadDir) await rm(this.uploadDir, { recursive: true, force: true });
    await this.exchange.close();
  }

  async #open(file: string, id: string, sha256: string, opts: OpenOptions): Promise<ServedImage> {
    await this.#makeRoom(id);
    await this.#checkPixels(file);
    const shared = this.opts.shared;
    // Shared: the upload moves into the shared folder, which keeps it (content-addressed) after close.
    const at = shared ? await shared.place(file, sha256, !!opts.ownsFile) : file;
    const src = await ImageSource.open(at);
    try {
      const compute = (): Promise<PercentileResult> => imagePercentiles(src, NORMALISATION_PERCENTILES);
      const pr = shared ? await shared.percentiles(sha256, compute) : { ...(await compute()), computed: true };
      const img = new ServedImage(
        id,
        sha256,
        opts.name ?? displayName(file),
        src,
        { low: pr.low, high: pr.high, sampled: pr.sampled, unsaturated: pr.unsaturated, pcts: NORMALISATION_PERCENTILES },
        this.opts.modelScale,
        this.opts.halo,
        this.opts.blockSize,
        !!opts.pinned,
        !!opts.ownsFile && !shared,
      );
      this.#images.set(id, img);
      const how = `${pr.sampled ? ' (sampled)' : ''}${pr.computed ? '' : ' (read from the shared folder)'}`;
      this.opts.log(
        `opened ${img.name} (${id}): ${src.width}x${src.height} ${src.dtype}, percentiles ${+pr.low.toPrecision(6)}..${+pr.high.toPrecision(6)}${how}`,
      );
      return img;
    } catch (e) {
      await src.close();
      throw e;
    }
  }

  /** Refuses images above the pixel limit from the header alone (a huge header decodes nothing). */
  async #checkPixels(file: string): Promise<void> {
    let meta: Metadata;
    try {
      meta = await sharp(file, { limitInputPixels: false }).metadata();
    } catch {
      return; // not decodable: ImageSource.open reports it with its own code
    }
    const px = (meta.width ?? 0) * (meta.height ?? 0);
    if (px > this.opts.maxImagePixels) {
      throw new ServerError(
        'SR_ERR_TOO_LARGE',
        `image is ${meta.width}x${meta.height} = ${px} pixels, above the server's limit of ${this.opts.maxImagePixels}`,
      );
    }
  }

  /** Holds the total under maxOpenImages: closes the least recently used idle REST image, else refuses. */
  async #makeRoom(id: string): Promise<void> {
    // Images being opened count too, so a burst of opens cannot overshoot the bound.
    while (this.#images.size + this.#opening.size - (this.#opening.has(id) ? 1 : 0) >= this.opts.maxOpenImages) {
      const idle = this.list()
        .filter(evictable)
        .sort((a, b) => a.lastUsed - b.lastUsed)[0];
      if (!idle)
        throw new ServerError(
          'SR_ERR_TOO_MANY',
          `the server has ${this.#images.size} images open (limit ${this.opts.maxOpenImages}): close one first`,
        );
      this.opts.log(`closing ${idle.name} (${idle.id}) to make room (limit ${this.opts.maxOpenImages} open images)`);
      await this.#close(idle);
    }
  }

  async #closeIdle(): Promise<void> {
    const before = Date.now() - this.opts.imageIdleMs;
    for (const img of this.list().filter((i) => evictable(i) && i.lastUsed < before)) {
      await this.#close(img).catch((e: Error) => this.opts.log(`closing idle ${img.id}: ${e.message}`));
    }
  }

  async #close(img: ServedImage): Promise<void> {
    if (this.#images.get(img.id) !== img) return;
    this.#images.delete(img.id);
    for (const fn of this.#onClose) fn(img);
    await img.source.close();
    if (img.ownsFile) await rm(img.source.path, { force: true });
    this.opts.log(`closed ${img.name} (${img.id})`);
  }
}

/** No connection holds it and the operator did not pin it: only REST keeps it, and REST may let it go. */
function evictable(img: ServedImage): boolean {
  return img.holders.size === 0 && !img.pinned;
}

async function hashFile(file: string): Promise<string> {
  const h = createHash('sha256');
  try {
    for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ServerError(err.code === 'ENOENT' ? 'SR_ERR_NOT_FOUND' : 'SR_ERR_IO', `cannot read ${file}: ${err.message}`);
  }
  return h.digest('hex');
}
