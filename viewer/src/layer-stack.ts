// The layers of the image on display, as OpenSeadragon TiledImages stacked in one viewer (so pan and zoom
// are shared): the original (source pyramid, upscaled nearest or smooth past native) and the tile layers
// plugins add (SR, bicubic). It turns layer state (visibility, opacity, compare pair, placeholders) into
// each TiledImage's opacity and clip. What the view needs from the server (viewport hints): viewport-hints.ts.
import OpenSeadragon from 'openseadragon';

import type { ImageInfo } from '../../server/protocol';
import type { LayerState, TileLayerSpec } from '../../plugin/api';
import { RawTileRenderer } from './raw-tiles';
import type { ViewerSocket } from './socket';
import { createWsTileSource } from './tile-source';
import { ViewportHints } from './viewport-hints';

interface LayerEntry {
  state: LayerState;
  placeholder?: string;
  item?: OpenSeadragon.TiledImage;
}

export class LayerStack {
  readonly #layers: LayerEntry[] = [];
  #image: ImageInfo | undefined;
  #compare: [string, string] | undefined;
  /** Split position of the compare view, 0..1 of the view's width. */
  split = 0.5;
  /** Smooth (bilinear) or nearest drawing of pixels magnified past their level. */
  smooth = true;
  readonly #listeners: (() => void)[] = [];
  /** Draws every layer's raw tiles through the display mapping (the display panel sets it). */
  readonly renderer = new RawTileRenderer();
  /** Zoom, visible area, wanted tiles and the server's viewport hints. */
  readonly view: ViewportHints;

  constructor(
    readonly viewer: OpenSeadragon.Viewer,
    readonly socket: ViewerSocket,
  ) {
    const onMove = (): void => this.#applyClips();
    viewer.addHandler('animation', onMove);
    viewer.addHandler('viewport-change', onMove);
    viewer.addHandler('resize', onMove);
    this.view = new ViewportHints(viewer, socket, this);
  }

  get image(): ImageInfo | undefined {
    return this.#image;
  }

  get compare(): [string, string] | undefined {
    return this.#compare;
  }

  onChange(fn: () => void): void {
    this.#listeners.push(fn);
  }

  layers(): LayerState[] {
    return this.#layers.map((l) => ({ ...l.state }));
  }

  /** Shows `image`: drops the previous image's layers, adds its original layer. */
  setImage(image: ImageInfo): void {
    this.socket.cancelTiles(this.socket.pendingTileIds);
    for (const l of this.#layers) if (l.item) this.viewer.world.removeItem(l.item);
    this.#layers.length = 0;
    this.#compare = undefined;
    this.#image = image;
    this.#add({ id: 'original', name: 'original', kind: 'original', visible: true, opacity: 1, maxScale: 1, serverLayer: 'sr' });
  }

  addTileLayer(spec: TileLayerSpec, plugin?: string): void {
    if (!this.#image) throw new Error('no image is open');
    if (this.#layers.some((l) => l.state.id === spec.id)) this.removeLayer(spec.id);
    const modelScale = 2 ** (this.#image.maxLevel - this.#image.nativeLevel);
    this.#add(
      {
        id: spec.id,
        name: spec.name,
        kind: 'tiles',
        visible: spec.visible ?? true,
        opacity: spec.opacity ?? 1,
        maxScale: Math.min(Math.max(1, spec.maxScale), modelScale),
        serverLayer: spec.serverLayer,
        ...(plugin ? { plugin } : {}),
      },
      spec.placeholder,
    );
  }

  removeLayer(id: string): void {
    const i = this.#layers.findIndex((l) => l.state.id === id);
    if (i < 0 || this.#layers[i]!.state.kind === 'original') return;
    const [l] = this.#layers.splice(i, 1);
    if (l?.item) this.viewer.world.removeItem(l.item);
    if (this.#compare?.includes(id)) this.#compare = undefined;
    this.#apply();
  }

  set(id: string, patch: Partial<Pick<LayerState, 'visible' | 'opacity'>>): void {
    const l = this.#layers.find((x) => x.state.id === id);
    if (!l) return;
    if (patch.visible !== undefined) l.state.visible = patch.visible;
    if (patch.opacity !== undefined) l.state.opacity = Math.min(1, Math.max(0, patch.opacity));
    this.#apply();
  }

  setCompare(pair: [string, string] | undefined): void {
    const ok = pair && pair[0] !== pair[1] && pair.every((id) => this.#layers.some((l) => l.state.id === id));
    this.#compare = ok ? pair : undefined;
    this.#apply();
  }

  setSmooth(on: boolean): void {
    this.smooth = on;
    this.viewer.drawer.setImageSmoothingEnabled(on);
    this.viewer.forceRedraw();
    for (const fn of this.#listeners) fn();
  }

  setSplit(fraction: number): void {
    this.split = Math.min(1, Math.max(0, fraction));
    this.#applyClips();
  }

  /** OpenSeadragon item of a layer (tests and the export read its coordinates). */
  item(id: string): OpenSeadragon.TiledImage | undefined {
    return this.#layers.find((l) => l.state.id === id)?.item;
  }

  #add(state: LayerState, placeholder?: string): void {
    const img = this.#image!;
    const entry: LayerEntry = { state, ...(placeholder ? { placeholder } : {}) };
    this.#layers.push(entry);
    const maxLevel = img.nativeLevel + Math.round(Math.log2(state.maxScale));
    const tileSource = createWsTileSource({
      image: img,
      layer: state.serverLayer,
      maxLevel,
      socket: this.socket,
      renderer: this.renderer,
      wanted: (l, x, y) => this.view.wanted(l, x, y),
    });
    this.viewer.addTiledImage({
      tileSource,
      x: 0,
      y: 0,
      width: 1,
      opacity: 0,
      success: (e: { item: OpenSeadragon.TiledImage }) => {
        if (!this.#layers.includes(entry)) return void this.viewer.world.removeItem(e.item);
        entry.item = e.item;
        if (state.kind === 'original' && this.viewer.world.getItemCount() === 1) this.viewer.viewport.goHome(true);
        this.#apply();
      },
    } as unknown as OpenSeadragon.TileSourceSpecifier);
    this.#apply();
  }

  /** Opacity and clip of every item from the layer states. */
  #apply(): void {
    const cmp = this.#compare;
    for (const l of this.#layers) {
      if (!l.item) continue;
      let opacity = shown(l, cmp) ? l.state.opacity : 0;
      if (opacity === 0) {
        const over = this.#layers.find((p) => p.placeholder === l.state.id && shown(p, cmp));
        if (over) opacity = over.state.opacity;
      }
      l.item.setOpacity(opacity);
    }
    this.#applyClips();
    for (const fn of this.#listeners) fn();
  }

  /** The upper layer of a compare pair is clipped to its side of the split; placeholders follow it. */
  #applyClips(): void {
    const cmp = this.#compare;
    const index = (id: string): number => this.#layers.findIndex((l) => l.state.id === id);
    const upper = cmp ? (index(cmp[0]) > index(cmp[1]) ? cmp[0] : cmp[1]) : undefined;
    const clipOf = (l: LayerEntry): OpenSeadragon.Rect | null => {
      if (!cmp || !l.item || l.state.id !== upper) return null;
      const size = l.item.getContentSize();
      const containerX = this.split * this.viewer.viewport.getContainerSize().x;
      const sx = Math.min(size.x, Math.max(0, l.item.viewerElementToImageCoordinates(new OpenSeadragon.Point(containerX, 0)).x));
      return upper === cmp[0] ? new OpenSeadragon.Rect(0, 0, sx, size.y) : new OpenSeadragon.Rect(sx, 0, size.x - sx, size.y);
    };
    for (const l of this.#layers) {
      if (!l.item) continue;
      let clip = clipOf(l);
      const over = shown(l, cmp) ? undefined : this.#layers.find((p) => p.placeholder === l.state.id && p.item);
      if (over?.item) {
        const c = clipOf(over);
        // The placeholder has its own size (same image, another top level): scale the clip across.
        const f = l.item.getContentSize().x / over.item.getContentSize().x;
        clip = c ? new OpenSeadragon.Rect(c.x * f, c.y * f, c.width * f, c.height * f) : null;
      }
      l.item.setClip(clip);
    }
  }
}

/**
 * Whether a layer is drawn for its own sake. A split view draws exactly its two layers, whatever their eyes
 * say: comparing with a layer that is hidden by default (bicubic) must not show an empty half.
 */
function shown(l: LayerEntry, cmp: [string, string] | undefined): boolean {
  return cmp ? cmp.includes(l.state.id) : l.state.visible;
}
