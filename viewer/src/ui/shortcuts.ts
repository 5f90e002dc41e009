// Keyboard shortcuts (napari-like): digits toggle layers (1 = bottom), C split view, V swaps its sides,
// A auto-contrast, I nearest/smooth, R draw an export region, O open, ? help; plugins add theirs from
// their manifests (e.g. Shift+S super-resolve). Navigation (arrows, W S D, + / -, 0) is done here too, not
// left to OpenSeadragon, whose keys work only while its canvas has the focus (not after a button click).
import OpenSeadragon from 'openseadragon';

import type { App } from '../app';

interface Binding {
  /** What the help shows. */
  key: string;
  /** The key names that trigger it (default: `key`). */
  names?: string[];
  what: string;
  run: () => void;
}

/** OpenSeadragon's own steps: 40 screen pixels per arrow press, zoom ×1.2 per + or −. */
const PAN_PIXELS = 40;
const ZOOM_STEP = 1.2;

export function mountShortcuts(app: App): void {
  const click = (id: string) => () => document.getElementById(id)?.click();
  const bindings: Binding[] = [
    { key: '1…9', what: 'toggle layer 1…9 (bottom first)', run: () => undefined },
    { key: 'C', what: 'split view on/off', run: click('compare-toggle') },
    {
      key: 'V',
      what: 'swap the split view’s sides',
      run: () => {
        const c = app.stack.compare;
        if (c) app.stack.setCompare([c[1], c[0]]);
      },
    },
    { key: 'A', what: 'auto contrast', run: () => app.display.autoContrast() },
    { key: 'I', what: 'nearest / smooth interpolation', run: () => app.stack.setSmooth(!app.stack.smooth) },
    { key: 'R', what: 'draw an export region', run: click('draw-region') },
    { key: 'O', what: 'open menu', run: click('open-button') },
    { key: '?', what: 'this help', run: () => (document.getElementById('help') as HTMLDialogElement).showModal() },
    ...navigation(app),
  ];
  for (const [key, id] of app.registry.keybindings) {
    bindings.push({
      key,
      what: app.registry.commands.get(id)?.title ?? id,
      run: () => void app.runCommand(id).catch((e: Error) => app.notify(e.message)),
    });
  }
  document.getElementById('help-button')!.onclick = () => (document.getElementById('help') as HTMLDialogElement).showModal();
  document.getElementById('help-keys')!.replaceChildren(
    ...bindings.map((b) => {
      const tr = document.createElement('tr');
      const k = document.createElement('td');
      k.innerHTML = `<kbd>${b.key}</kbd>`;
      const w = document.createElement('td');
      w.textContent = b.what;
      tr.append(k, w);
      return tr;
    }),
  );

  // Capture phase: before OpenSeadragon's own key handling on its canvas.
  window.addEventListener(
    'keydown',
    (ev) => {
      const t = ev.target as HTMLElement;
      if (t.closest('input, select, textarea') || ev.ctrlKey || ev.metaKey) return;
      if (/^[1-9]$/.test(ev.key) && !ev.altKey) {
        const l = app.stack.layers()[Number(ev.key) - 1];
        if (l) app.stack.set(l.id, { visible: !l.visible });
        return stop(ev);
      }
      const shift = ev.shiftKey && ev.key.length === 1 && /[a-z]/i.test(ev.key) ? 'Shift+' : '';
      const name = `${ev.altKey ? 'Alt+' : ''}${shift}${ev.key.length === 1 ? ev.key.toUpperCase() : ev.key}`;
      const b = bindings.find((x) => (x.names ?? [x.key]).includes(name));
      if (b) {
        b.run();
        stop(ev);
      }
    },
    true,
  );
}

function stop(ev: KeyboardEvent): void {
  ev.preventDefault();
  ev.stopPropagation();
}

/** Pan, zoom and home, as OpenSeadragon does them on its canvas (A is auto contrast here, not pan left). */
function navigation(app: App): Binding[] {
  const vp = (): OpenSeadragon.Viewport => app.viewer.viewport;
  const pan = (dx: number, dy: number) => () => {
    vp().panBy(vp().deltaPointsFromPixels(new OpenSeadragon.Point(dx * PAN_PIXELS, dy * PAN_PIXELS)));
    vp().applyConstraints();
  };
  const zoom = (f: number) => () => {
    vp().zoomBy(f);
    vp().applyConstraints();
  };
  return [
    { key: '←', names: ['ArrowLeft'], what: 'pan left', run: pan(-1, 0) },
    { key: '→ or D', names: ['ArrowRight', 'D'], what: 'pan right', run: pan(1, 0) },
    { key: '↑ or W', names: ['ArrowUp', 'W'], what: 'pan up', run: pan(0, -1) },
    { key: '↓ or S', names: ['ArrowDown', 'S'], what: 'pan down', run: pan(0, 1) },
    { key: '+', names: ['+', '='], what: 'zoom in', run: zoom(ZOOM_STEP) },
    { key: '−', names: ['-', '_'], what: 'zoom out', run: zoom(1 / ZOOM_STEP) },
    { key: '0', what: 'whole image (home)', run: () => vp().goHome() },
  ];
}
