// Keyboard shortcuts (napari-like): digits toggle layers (1 = bottom), C split view, V swaps its sides,
// A auto-contrast, I nearest/smooth, R draw an export region, O open, ? help; plugins add theirs from
// their manifests (e.g. Shift+S super-resolve). Keys OpenSeadragon uses (WASD, arrows, +/-, 0) are left to it.
import type { App } from '../main';

interface Binding {
  key: string;
  what: string;
  run: () => void;
}

export function mountShortcuts(app: App): void {
  const click = (id: string) => () => document.getElementById(id)?.click();
  const bindings: Binding[] = [
    { key: '1…9', what: 'toggle layer 1…9 (bottom first)', run: () => undefined },
    { key: 'C', what: 'split view on/off', run: click('compare-toggle') },
    { key: 'V', what: 'swap the split view’s sides', run: () => { const c = app.stack.compare; if (c) app.stack.setCompare([c[1], c[0]]); } },
    { key: 'A', what: 'auto contrast', run: () => app.display.autoContrast() },
    { key: 'I', what: 'nearest / smooth interpolation', run: () => app.stack.setSmooth(!app.stack.smooth) },
    { key: 'R', what: 'draw an export region', run: click('draw-region') },
    { key: 'O', what: 'open menu', run: click('open-button') },
    { key: '?', what: 'this help', run: () => (document.getElementById('help') as HTMLDialogElement).showModal() },
  ];
  for (const [key, id] of app.registry.keybindings) {
    bindings.push({ key, what: app.registry.commands.get(id)?.title ?? id, run: () => void app.runCommand(id).catch((e: Error) => app.notify(e.message)) });
  }
  document.getElementById('help-button')!.onclick = () => (document.getElementById('help') as HTMLDialogElement).showModal();
  document.getElementById('help-keys')!.replaceChildren(...bindings.map((b) => {
    const tr = document.createElement('tr');
    const k = document.createElement('td');
    k.innerHTML = `<kbd>${b.key}</kbd>`;
    const w = document.createElement('td');
    w.textContent = b.what;
    tr.append(k, w);
    return tr;
  }));

  // Capture phase: before OpenSeadragon's own key handling on its canvas.
  window.addEventListener('keydown', (ev) => {
    const t = ev.target as HTMLElement;
    if (t.closest('input, select, textarea') || ev.ctrlKey || ev.metaKey) return;
    if (/^[1-9]$/.test(ev.key) && !ev.altKey) {
      const l = app.stack.layers()[Number(ev.key) - 1];
      if (l) app.stack.set(l.id, { visible: !l.visible });
      return stop(ev);
    }
    const name = `${ev.altKey ? 'Alt+' : ''}${ev.shiftKey && ev.key.length === 1 && /[a-z]/i.test(ev.key) ? 'Shift+' : ''}${ev.key.length === 1 ? ev.key.toUpperCase() : ev.key}`;
    const b = bindings.find((x) => x.key === name);
    if (b) {
      b.run();
      stop(ev);
    }
  }, true);
}

function stop(ev: KeyboardEvent): void {
  ev.preventDefault();
  ev.stopPropagation();
}
