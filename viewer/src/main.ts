// The viewer page: connects to the tile server, builds the OpenSeadragon view and the panels, loads the
// plugins the server lists, and opens the image the server has open (or waits for the user to open one).
import OpenSeadragon from 'openseadragon';

import type { ImageInfo } from '../../server/protocol';
import type { PluginManifest } from '../../plugin/manifest-schema';
import { LayerStack } from './layer-stack';
import { MIN_PIXEL_RATIO } from './viewport-hints';
import type { App } from './app';
import type { ViewerApi } from '../../plugin/api';
import { loadPlugins, pluginConfig, type PluginRegistry } from './plugins';
import { ViewerSocket } from './socket';
import { reviveCancelledTiles } from './tile-source';
import { mountComparePanel } from './ui/compare-panel';
import { DisplayPanel } from './ui/display-panel';
import { mountExportPanel } from './ui/export-panel';
import { mountInfoPanel } from './ui/info-panel';
import { mountLayersPanel } from './ui/layers-panel';
import { mountOpenMenu } from './ui/open-menu';
import { mountScaleBar } from './ui/scale-bar';
import { mountShortcuts } from './ui/shortcuts';
import { StatusBar } from './ui/status-bar';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

async function main(): Promise<void> {
  const socket = await ViewerSocket.connect();
  const health = (await (await fetch('/health')).json()) as { engine?: string };
  const viewer = OpenSeadragon({
    element: $('osd'),
    // The canvas drawer: its pixels can be read back (histogram, tests) and it draws per-item clips.
    drawer: 'canvas',
    showNavigationControl: false,
    showNavigator: true,
    navigatorPosition: 'BOTTOM_RIGHT',
    navigatorSizeRatio: 0.14,
    // Jobs in flight at once over all layers; queued tiles beyond it wait in OpenSeadragon's queue.
    imageLoaderLimit: 8,
    // SR tiles take seconds on a small CPU: never let OpenSeadragon time them out.
    timeout: 600_000,
    maxZoomPixelRatio: 2,
    minPixelRatio: MIN_PIXEL_RATIO,
    minZoomImageRatio: 0.5,
    visibilityRatio: 0.3,
    blendTime: 0,
    animationTime: 0.5,
    gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: true },
    crossOriginPolicy: false,
  } as OpenSeadragon.Options);
  reviveCancelledTiles(viewer);
  const stack = new LayerStack(viewer, socket);
  const imageListeners: ((img: ImageInfo) => void)[] = [];
  const notify = (text: string): void => status.message(text);
  const status = new StatusBar(socket, stack, health.engine ?? 'unknown');
  const display = new DisplayPanel(viewer, stack);
  const app: App = {
    viewer,
    stack,
    socket,
    engine: health.engine ?? 'unknown',
    display,
    status,
    registry: undefined as unknown as PluginRegistry,
    openImage(info) {
      stack.setImage(info);
      const size = info.pixelSize ? ` · ${info.pixelSize.x.toPrecision(3)} ${info.pixelSize.unit}/px` : '';
      $('image-name').textContent = `${info.name} · ${info.width} × ${info.height} ${info.dtype}${size}`;
      $('empty').hidden = true;
      display.setImage(info);
      // One announcement per opened image, made here so no later "opened" message can hide what the server did
      // to the input (colour converted to grey, ...), which is said as `phasesr sr` prints it.
      if (info.warnings.length) status.message(`${info.name}: warning: ${info.warnings.join('; ')}`, 20_000);
      else status.message(`opened ${info.name}`);
      for (const fn of imageListeners) fn(info);
      const url = new URL(location.href);
      url.searchParams.set('image', info.imageId);
      history.replaceState(null, '', url);
    },
    notify,
    async runCommand(id) {
      const c = app.registry.commands.get(id);
      if (!c) throw new Error(`no command ${id}`);
      return c.run();
    },
  };
  const makeApi = (manifest: PluginManifest): ViewerApi => {
    const cfg = pluginConfig(manifest);
    return {
      server: { hello: socket.hello, engine: app.engine },
      config: <T>(key: string) => cfg.get(key) as T,
      setConfig: (key, value) => {
        cfg.set(key, value);
        localStorage.setItem(`phasesr.config.${key}`, JSON.stringify(value));
      },
      image: () => stack.image,
      onImage: (fn) => {
        imageListeners.push(fn);
        if (stack.image) fn(stack.image);
      },
      addTileLayer: (spec) => stack.addTileLayer(spec, manifest.name),
      removeLayer: (id) => stack.removeLayer(id),
      layers: () => stack.layers(),
      setLayer: (id, patch) => stack.set(id, patch),
      onLayersChanged: (fn) => stack.onChange(fn),
      setCompare: (pair) => stack.setCompare(pair),
      compare: () => stack.compare,
      zoomToScale: (s) => stack.view.zoomToScale(s),
      setDisplayTransform: (id, fn) => display.setTransform(`${manifest.name}/${id}`, fn),
      runCommand: (id) => app.runCommand(id),
      notify,
    };
  };
  mountLayersPanel(app);
  mountComparePanel(app);
  mountScaleBar(app);
  mountInfoPanel(app);
  $('model-badge').textContent =
    `${socket.hello.model.name} ×${socket.hello.model.scale}${socket.hello.model.trained ? '' : ' (untrained)'} · ${app.engine}`;
  app.registry = await loadPlugins(makeApi);
  for (const p of app.registry.plugins) {
    for (const w of p.widgets) {
      const sec = document.createElement('section');
      sec.dataset.plugin = p.manifest.name;
      const h = document.createElement('h2');
      h.textContent = w.title;
      sec.append(h, w.element);
      $('plugin-docks').append(sec);
    }
  }
  mountOpenMenu(app);
  mountExportPanel(app);
  mountShortcuts(app);
  socket.onClose = (reason) => notify(`server ${reason}: reload the page`);
  await openInitialImage(app);
  // Test and console hook: the state a person sees, in numbers.
  (window as unknown as { phasesr: unknown }).phasesr = { app, OpenSeadragon };
  document.body.dataset.ready = 'true';
}

/** The image named in the URL (?image=), else the last one the server has open. */
async function openInitialImage(app: App): Promise<void> {
  const images = (await (await fetch('/api/v1/images')).json()) as ImageInfo[];
  const wanted = new URLSearchParams(location.search).get('image');
  const info = images.find((i) => i.imageId === wanted) ?? images.at(-1);
  if (info) app.openImage(info);
  else $('empty').hidden = false;
}

main().catch((e: unknown) => {
  document.body.dataset.ready = 'error';
  const msg = document.getElementById('status-message');
  if (msg) msg.textContent = `viewer failed to start: ${(e as Error).message}`;
  console.error(e);
});
