// What the view needs from the server, apart from the layers' state: the zoom in native terms, the finest
// level OpenSeadragon draws now, the visible native rectangle and whether a tile is wanted in it; the
// viewport hint that lets the server drop queued tiles outside the view; and cancels for tiles finer than
// needed now.
import type OpenSeadragon from 'openseadragon';

import { tileInView, type Area, type ImageInfo } from '../../server/protocol';
import type { ViewerSocket } from './socket';

/**
 * OpenSeadragon's minPixelRatio: a level is drawn once its pixels cover this many screen pixels. 0.7 (not
 * its default 0.5) so that at native zoom the native tiles are drawn and model tiles start at ×1.4, and at
 * ×4 the ×4 tiles are fetched rather than four times as many ×8 ones.
 */
export const MIN_PIXEL_RATIO = 0.7;

/** Tiles kept when the view moves: this many tile widths around the visible area. */
const VIEW_MARGIN_TILES = 0.5;

/** The image on display and its original layer's item (the LayerStack). */
export interface ShownImage {
  readonly image: ImageInfo | undefined;
  item(id: 'original'): OpenSeadragon.TiledImage | undefined;
}

export class ViewportHints {
  constructor(
    readonly viewer: OpenSeadragon.Viewer,
    readonly socket: ViewerSocket,
    readonly shown: ShownImage,
  ) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hint = (): void => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        this.sendViewportHint();
      }, 150);
    };
    viewer.addHandler('animation', hint);
    viewer.addHandler('viewport-change', hint);
    viewer.addHandler('animation-finish', () => this.sendViewportHint());
  }

  /** Screen pixels per native pixel at the current zoom. */
  nativeZoom(current = true): number {
    const item = this.shown.item('original');
    if (!item) return 1;
    return item.viewportToImageZoom(this.viewer.viewport.getZoom(current));
  }

  /**
   * The finest level OpenSeadragon draws now: the finest whose pixels cover at least MIN_PIXEL_RATIO screen
   * pixels, i.e. level <= native + log2(zoom / MIN_PIXEL_RATIO) (rounded up a hair, never below its own).
   */
  targetLevel(): number {
    const img = this.shown.image;
    if (!img) return 0;
    return Math.max(0, Math.min(img.maxLevel, Math.floor(img.nativeLevel + Math.log2(this.nativeZoom() / MIN_PIXEL_RATIO) + 1e-6)));
  }

  /** The visible part of the image in native pixels, widened by a margin. */
  visibleNativeRect(marginTiles = VIEW_MARGIN_TILES): Area | undefined {
    const item = this.shown.item('original');
    const img = this.shown.image;
    if (!item || !img) return undefined;
    const r = item.viewportToImageRectangle(this.viewer.viewport.getBounds(true));
    const m = marginTiles * img.tileSize * 2 ** (img.nativeLevel - this.targetLevel()); // native px per tile
    return { x0: r.x - m, y0: r.y - m, x1: r.x + r.width + m, y1: r.y + r.height + m };
  }

  /** Whether the tile (level, x, y) is in view and not finer than needed now. */
  wanted(level: number, x: number, y: number): boolean {
    const img = this.shown.image;
    const v = this.visibleNativeRect();
    if (!img || !v) return false;
    if (level > this.targetLevel()) return false;
    return tileInView(level, x, y, v, img.nativeLevel, img.tileSize);
  }

  /** Viewport hint (the server drops queued tiles outside it) and cancels for tiles finer than needed. */
  sendViewportHint(): void {
    const img = this.shown.image;
    const v = this.visibleNativeRect();
    if (!img || !v) return;
    const L = img.maxLevel;
    const per = img.tileSize * 2 ** (img.nativeLevel - L);
    const top = img.levels[L]!;
    const clampX = (n: number): number => Math.min(top.columns - 1, Math.max(0, Math.floor(n)));
    const clampY = (n: number): number => Math.min(top.rows - 1, Math.max(0, Math.floor(n)));
    this.socket.viewport(img.imageId, L, clampX(v.x0 / per), clampY(v.y0 / per), clampX(v.x1 / per), clampY(v.y1 / per));
    const finest = this.targetLevel();
    const stale = this.socket.pendingTileIds.filter((id) => {
      const t = this.socket.pendingTile(id);
      return t !== undefined && (t.imageId !== img.imageId || t.level > finest);
    });
    this.socket.cancelTiles(stale);
  }

  /** Zooms to ×scale of native, keeping the centre. */
  zoomToScale(scale: number): void {
    const item = this.shown.item('original');
    if (!item) return;
    this.viewer.viewport.zoomTo(item.imageToViewportZoom(scale));
  }
}
