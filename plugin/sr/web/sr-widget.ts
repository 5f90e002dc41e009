// The SR plugin's browser module: adds the model's layers (SR, with the bicubic layer as its placeholder and
// for comparison) to every image opened, and the dock widget (model, scale, tile size, layer). The viewer
// knows nothing about super-resolution: it gets here through plugin/sr/manifest.json.
import type { LayerState, ViewerApi } from '../../api';

const SR = 'sr';
const BICUBIC = 'bicubic';

function addLayers(api: ViewerApi): void {
  const scale = api.config<number>('phasesr-sr.scale');
  api.addTileLayer({
    id: BICUBIC,
    name: 'bicubic',
    serverLayer: 'bicubic',
    maxScale: scale,
    visible: api.config<boolean>('phasesr-sr.show_bicubic'),
  });
  api.addTileLayer({
    id: SR,
    name: `SR ×${scale} (${api.server.hello.model.name})`,
    serverLayer: 'sr',
    maxScale: scale,
    placeholder: BICUBIC,
    visible: true,
  });
}

/** Command: the SR layer on, zoomed to the model's scale. */
export function superResolve(api: ViewerApi): void {
  if (!api.image()) return api.notify('open an image first');
  if (!api.layers().some((l) => l.id === SR)) addLayers(api);
  api.setCompare(undefined);
  api.setLayer(SR, { visible: true });
  api.zoomToScale(api.config<number>('phasesr-sr.scale'));
}

/** Command: split view, SR on the left, bicubic on the right (again: off). */
export function compare(api: ViewerApi): void {
  if (!api.image()) return api.notify('open an image first');
  if (!api.layers().some((l) => l.id === SR)) addLayers(api);
  const c = api.compare();
  api.setCompare(c?.[0] === SR && c[1] === BICUBIC ? undefined : [SR, BICUBIC]);
}

export function createWidget(api: ViewerApi): HTMLElement {
  const root = document.createElement('div');
  root.className = 'sr-widget';
  const m = api.server.hello.model;
  const modelScale = m.scale;
  root.innerHTML =
    `
    <div class="kv"><span>model</span><b title="${esc(m.description)}">${esc(m.name)} ` +
    `×${modelScale}${m.trained ? '' : ' <em class="warn">untrained</em>'}</b></div>
    <div class="kv"><span>engine</span><b data-role="engine">${esc(api.server.engine)}</b></div>
    <label class="row">layer <select data-role="layer"></select></label>
    <label class="row">scale <select data-role="scale"></select></label>
    <label class="row">tile size <select data-role="tile"><option>256</option></select></label>
    <div class="buttons">
      <button data-role="sr" title="Shift+S">Super-resolve</button>
      <button data-role="compare" title="Shift+C">Compare with bicubic</button>
    </div>`;
  const q = <T extends HTMLElement>(role: string): T => root.querySelector<T>(`[data-role="${role}"]`)!;
  const scaleSel = q<HTMLSelectElement>('scale');
  for (const s of [2, 4, 8].filter((s) => s <= modelScale)) scaleSel.add(new Option(`×${s}`, String(s)));
  scaleSel.value = String(Math.min(modelScale, api.config<number>('phasesr-sr.scale')));
  scaleSel.onchange = () => {
    api.setConfig('phasesr-sr.scale', Number(scaleSel.value));
    if (api.image()) addLayers(api);
  };
  const tileSel = q<HTMLSelectElement>('tile');
  tileSel.value = String(api.config<number>('phasesr-sr.tile_size'));
  tileSel.disabled = true;
  tileSel.title = 'tiles are 256 × 256 in protocol version 1';
  const layerSel = q<HTMLSelectElement>('layer');
  const refreshLayers = (): void => {
    const sources = api.layers().filter((l: LayerState) => l.kind === 'original');
    layerSel.replaceChildren(...sources.map((l) => new Option(`${api.image()?.name ?? l.name}`, l.id)));
  };
  api.onLayersChanged(refreshLayers);
  q<HTMLButtonElement>('sr').onclick = () => void api.runCommand('phasesr-sr.super_resolve');
  q<HTMLButtonElement>('compare').onclick = () => void api.runCommand('phasesr-sr.compare');
  api.onImage(() => {
    if (api.config<boolean>('phasesr-sr.auto_layers')) addLayers(api);
    refreshLayers();
  });
  return root;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
