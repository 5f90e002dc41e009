// An OpenSeadragon TileSource whose tiles come over the phasesr WebSocket (custom downloadTileStart /
// downloadTileAbort, the "advanced data model" of OpenSeadragon) as raw samples, drawn into canvases by the
// display mapping (raw-tiles.ts). Levels follow the protocol's DZI numbering,
// so OpenSeadragon's own level maths addresses the server's pyramid. OpenSeadragon cannot abort a job it
// started, so jobs whose tiles the server or the viewer cancelled are failed with CANCEL_MARK and revived
// (see reviveCancelledTiles): they load again if they come back into view.
import OpenSeadragon from 'openseadragon';

import { levelSize, type ImageInfo, type Layer } from '../../server/protocol';
import { decodeRawTile, rawEncoding, type RawTileRenderer } from './raw-tiles';
import type { ViewerSocket } from './socket';

/** Prefix of the failure message of a cancelled (not broken) tile job. */
export const CANCEL_MARK = 'phasesr-cancelled';

export interface WsTileSourceOptions {
  image: ImageInfo;
  /** Which server layer: 'sr' (model above native) or 'bicubic'. */
  layer: Layer;
  /** Highest level served (nativeLevel for the original, up to image.maxLevel for model layers). */
  maxLevel: number;
  socket: ViewerSocket;
  /** Draws the raw tiles through the display mapping (and keeps them for redraws and statistics). */
  renderer: RawTileRenderer;
  /** Whether a tile is still worth asking for when its job starts (OpenSeadragon queues jobs client-side). */
  wanted: (level: number, x: number, y: number) => boolean;
}

interface JobData {
  requestId?: number;
  settled?: boolean;
}

/** Builds the tile source (a plain TileSource with the download hooks replaced). */
export function createWsTileSource(o: WsTileSourceOptions): OpenSeadragon.TileSource {
  const { image } = o;
  const top = levelSize(image.width, image.height, image.nativeLevel, o.maxLevel);
  const src = new OpenSeadragon.TileSource({
    width: top.width,
    height: top.height,
    tileSize: image.tileSize,
    tileOverlap: 0,
    minLevel: 0,
    maxLevel: o.maxLevel,
  } as OpenSeadragon.TileSourceOptions);
  // At and below native every layer is the same source pixels: one cache key, so layers share those tiles.
  src.getTileUrl = (level: number, x: number, y: number) =>
    `phasesr:${image.imageId}/${level <= image.nativeLevel ? 'source' : o.layer}/${level}/${x}_${y}`;
  src.hasTransparency = () => false;
  src.downloadTileStart = (job: OpenSeadragon.ImageJob) => {
    const d = job.userData as JobData;
    const { level, x, y } = job.tile;
    if (!o.wanted(level, x, y)) {
      d.settled = true;
      job.fail(`${CANCEL_MARK}: out of view before it was sent`, null);
      return;
    }
    const encoding = rawEncoding(image);
    d.requestId = o.socket.requestTile(
      { imageId: image.imageId, level, x, y, layer: level <= image.nativeLevel ? 'sr' : o.layer, encoding },
      (a) => {
        if (d.settled) return;
        d.settled = true;
        if (!a.ok) return void job.fail(a.code === 'SR_ERR_CANCELLED' ? `${CANCEL_MARK}: ${a.message}` : `${a.code}: ${a.message}`, null);
        const { width, height } = a.header;
        decodeRawTile(a.payload, a.header.encoding, width).then(
          (data) => job.finish(o.renderer.canvasFor({ imageId: image.imageId, level, x, y, width, height, data }), null, 'context2d'),
          (e: Error) => job.fail(`tile ${level}/${x}_${y}: ${e.message}`, null),
        );
      },
    );
  };
  src.downloadTileAbort = (job: OpenSeadragon.ImageJob) => {
    const d = job.userData as JobData;
    if (d.requestId !== undefined && !d.settled) {
      d.settled = true;
      o.socket.cancelTiles([d.requestId]);
    }
  };
  return src;
}

/**
 * A cancelled job is not a missing tile: OpenSeadragon marks failed tiles as non-existent (never loaded
 * again) and logs the failure as an error, so both are undone for cancellations.
 */
export function reviveCancelledTiles(viewer: OpenSeadragon.Viewer): void {
  viewer.addHandler('tile-load-failed', (e) => {
    const ev = e as unknown as { message?: string; tile: OpenSeadragon.Tile };
    if (ev.message?.startsWith(CANCEL_MARK))
      setTimeout(() => {
        ev.tile.exists = true;
      }, 0);
  });
  const osd = OpenSeadragon as unknown as { console: Console };
  const base = osd.console;
  osd.console = Object.assign(Object.create(base) as Console, {
    error: (...args: unknown[]) => {
      if (args.some((a) => typeof a === 'string' && a.includes(CANCEL_MARK))) return;
      base.error(...args);
    },
  });
}
