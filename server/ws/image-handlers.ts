// WebSocket handlers for images: open by path or id, upload in chunks, close; uploads in progress are
// removed on cancel and on disconnect, and a connection's images are released when it closes.
import type { ServerContext } from '../context';
import { ServerError } from '../errors';
import { UploadFile } from '../images/upload-file';
import type { Connection } from './connection';

const IMAGES = 'images';
const UPLOADS = 'uploads';

/** Image ids a connection holds open. */
export function heldImages(conn: Connection): Set<string> {
  let s = conn.state.get(IMAGES) as Set<string> | undefined;
  if (!s) conn.state.set(IMAGES, (s = new Set()));
  return s;
}

/** Uploads in progress; `up` is a promise so that chunks and upload-end sent right after upload-begin find it. */
interface PendingUpload {
  up: Promise<UploadFile>;
  name: string;
  /** Set by the first upload-end: a repeated one is answered by that first one, never finished twice. */
  ending?: true;
}

function uploads(conn: Connection): Map<number, PendingUpload> {
  let m = conn.state.get(UPLOADS) as Map<number, PendingUpload> | undefined;
  if (!m) conn.state.set(UPLOADS, (m = new Map()));
  return m;
}

/** This connection may hold one more image (counting uploads that will become images). @throws SR_ERR_TOO_MANY */
function checkImageRoom(conn: Connection, max: number, imageId?: string): void {
  const held = heldImages(conn);
  if (imageId !== undefined && held.has(imageId)) return;
  const n = held.size + uploads(conn).size;
  if (n >= max) throw new ServerError('SR_ERR_TOO_MANY', `this connection holds ${n} images and uploads (limit ${max}): close one first`);
}

export function registerImageHandlers(ctx: ServerContext, onImageClosedByClient: (conn: Connection, imageId: string) => void): void {
  const { hub, store, options } = ctx;

  hub.register('open-image', async (msg, conn) => {
    checkImageRoom(conn, options.maxImagesPerClient, msg.imageId);
    let img;
    if (msg.path !== undefined) img = await store.openPath(msg.path, { holder: conn.id });
    else {
      img = store.get(msg.imageId!);
      img.holders.add(conn.id);
    }
    if (conn.closed) return void (await store.release(img.id, conn.id));
    heldImages(conn).add(img.id);
    conn.send({ type: 'image-opened', id: msg.id, image: img.info() });
  });

  hub.register('upload-begin', async (msg, conn) => {
    const ups = uploads(conn);
    if (ups.has(msg.id) || conn.hasChunkSink(msg.id))
      throw new ServerError('SR_ERR_DUPLICATE_ID', `request id ${msg.id} is already in use`);
    checkImageRoom(conn, options.maxImagesPerClient);
    // The sink is registered before the first await: chunks sent right after upload-begin must find it.
    const creating = UploadFile.create(store.uploadDir, msg.name, msg.bytes, options.maxUploadBytes, {
      slots: store.uploads,
      client: `ws:${conn.id}`,
    });
    conn.acceptChunks(msg.id, {
      write: async (seq, payload, last) => {
        const up = await creating;
        await up.write(seq, payload, last);
        conn.send({ type: 'progress', id: msg.id, stage: 'upload', done: up.receivedBytes, total: msg.bytes });
      },
    });
    ups.set(msg.id, { up: creating, name: msg.name });
    try {
      await creating;
    } catch (e) {
      conn.dropChunks(msg.id);
      ups.delete(msg.id);
      throw e;
    }
  });

  hub.register('upload-end', async (msg, conn) => {
    const ups = uploads(conn);
    const entry = ups.get(msg.id);
    if (!entry) throw new ServerError('SR_ERR_UPLOAD', `no upload in progress with id ${msg.id}`);
    if (entry.ending) return;
    entry.ending = true;
    let done;
    let up: UploadFile | undefined;
    try {
      up = await entry.up;
      await conn.chunksSettled();
      done = await up.finish();
    } catch (e) {
      await up?.abort();
      throw e;
    } finally {
      ups.delete(msg.id);
      conn.dropChunks(msg.id);
    }
    conn.send({ type: 'progress', id: msg.id, stage: 'open', done: 0, total: 1 });
    // From here the store owns the file (and deletes it if the image cannot be opened).
    const img = await store.openUpload(done, entry.name, { holder: conn.id, unlisted: true });
    if (conn.closed) return void (await store.release(img.id, conn.id));
    heldImages(conn).add(img.id);
    conn.send({ type: 'image-opened', id: msg.id, image: img.info() });
  });

  hub.register('close-image', async (msg, conn) => {
    const held = heldImages(conn);
    if (!held.has(msg.imageId)) throw new ServerError('SR_ERR_NOT_FOUND', `this connection has no open image ${msg.imageId}`);
    onImageClosedByClient(conn, msg.imageId);
    held.delete(msg.imageId);
    await store.release(msg.imageId, conn.id);
    conn.send({ type: 'image-closed', imageId: msg.imageId });
  });

  hub.onCancel(async (conn, ids) => {
    const ups = uploads(conn);
    const hit = ids === 'all' ? [...ups.keys()] : ids.filter((id) => ups.has(id));
    for (const id of hit) {
      conn.dropChunks(id);
      await ups.get(id)?.up.then(
        (u) => u.abort(),
        () => undefined,
      );
      ups.delete(id);
    }
    return hit;
  });

  hub.onConnectionClose((conn) => {
    for (const [id, { up }] of uploads(conn)) {
      conn.dropChunks(id);
      void up.then(
        (u) => u.abort(),
        () => undefined,
      );
    }
    for (const imageId of heldImages(conn))
      void store.release(imageId, conn.id).catch((e: Error) => options.log(`release ${imageId}: ${e.message}`));
  });
}
