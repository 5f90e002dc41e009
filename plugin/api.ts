// The plugin contract (npe2-style, plugin API "phasesr-viewer@1"): what a plugin's browser module gets from the
// viewer. It lives in plugin/ beside the manifest schema, so plugins import nothing from viewer/, and the viewer
// implements it (viewer/src/main.ts). Plugin modules import these types only (`import type`); everything they do
// goes through the object passed to their exports: a widget export `(api) => HTMLElement`, a command export
// `(api) => unknown`. Browser types (HTMLElement), so it is type-checked with the viewer (viewer/tsconfig.json).
import type { ImageInfo, Layer, ServerMessageOf } from '../server/protocol';

/** A deep-zoom layer whose tiles come from the server over the WebSocket. */
export interface TileLayerSpec {
  /** Unique layer id (also its keyboard order). */
  id: string;
  name: string;
  /** The server layer its model levels come from. */
  serverLayer: Layer;
  /** Highest magnification offered (1 = native only; 2, 4, 8 = model levels up to that). */
  maxScale: number;
  /** Layer drawn under this one, with its opacity and clip, where this one's tiles have not arrived yet. */
  placeholder?: string;
  visible?: boolean;
  opacity?: number;
}

export interface LayerState {
  id: string;
  name: string;
  kind: 'original' | 'tiles';
  visible: boolean;
  opacity: number;
  /** Highest magnification the layer offers; levels above native are model-made (or bicubic). */
  maxScale: number;
  serverLayer: Layer;
  /** The plugin that added it (undefined: the viewer core). */
  plugin?: string;
}

export interface ViewerApi {
  /** The server's hello (model name, scale, limits) and the engine from /health. */
  readonly server: { hello: ServerMessageOf<'hello'>; engine: string };
  /** This plugin's configuration value (the manifest default unless the user changed it). */
  config<T = unknown>(key: string): T;
  setConfig(key: string, value: unknown): void;
  /** The image on display. */
  image(): ImageInfo | undefined;
  /** Called for the current image (if any) and every image opened later. */
  onImage(fn: (img: ImageInfo) => void): void;
  addTileLayer(spec: TileLayerSpec): void;
  removeLayer(id: string): void;
  layers(): LayerState[];
  setLayer(id: string, patch: Partial<Pick<LayerState, 'visible' | 'opacity'>>): void;
  onLayersChanged(fn: () => void): void;
  /** Split-view compare of two layers (undefined: off). */
  setCompare(pair: [string, string] | undefined): void;
  compare(): [string, string] | undefined;
  /** Zooms to ×scale of native around the view's centre. */
  zoomToScale(scale: number): void;
  /** A plugin stage in the display lookup table, applied after contrast and gamma (t in 0..1 -> 0..1). */
  setDisplayTransform(id: string, fn: ((t: number) => number) | undefined): void;
  runCommand(id: string): Promise<unknown>;
  notify(text: string): void;
}

/** The exports a plugin module may have (named in its manifest's js_name). */
export type WidgetFactory = (api: ViewerApi) => HTMLElement;
export type CommandFn = (api: ViewerApi) => unknown;
