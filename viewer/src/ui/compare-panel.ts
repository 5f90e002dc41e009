// Compare mode: two layers side by side in one view, split by a line the user drags (both halves pan and
// zoom together because they are one OpenSeadragon viewer). The layer stack clips the upper layer.
import type { App } from '../app';

export function mountComparePanel(app: App): void {
  const a = document.getElementById('compare-a') as HTMLSelectElement;
  const b = document.getElementById('compare-b') as HTMLSelectElement;
  const toggle = document.getElementById('compare-toggle') as HTMLButtonElement;
  const split = document.getElementById('split')!;
  const view = document.getElementById('view')!;

  const sync = (): void => {
    const layers = app.stack.layers();
    const cmp = app.stack.compare;
    for (const [sel, i] of [
      [a, 0],
      [b, 1],
    ] as const) {
      const keep = cmp?.[i] ?? sel.value;
      sel.replaceChildren(...layers.map((l) => new Option(l.name, l.id)));
      sel.value = layers.some((l) => l.id === keep) ? keep : (layers[i === 0 ? layers.length - 1 : 0]?.id ?? '');
    }
    if (a.value === b.value && layers.length > 1) b.value = layers.find((l) => l.id !== a.value)!.id;
    toggle.classList.toggle('active', cmp !== undefined);
    toggle.textContent = cmp ? 'Split view: on' : 'Split view';
    split.hidden = cmp === undefined;
    split.style.left = `${app.stack.split * 100}%`;
    document.body.dataset.compare = cmp ? cmp.join('|') : '';
  };
  const apply = (): void => {
    if (app.stack.compare) app.stack.setCompare([a.value, b.value]);
  };
  a.onchange = apply;
  b.onchange = apply;
  toggle.onclick = () => app.stack.setCompare(app.stack.compare ? undefined : [a.value, b.value]);

  split.addEventListener('pointerdown', (ev) => {
    ev.preventDefault();
    split.setPointerCapture(ev.pointerId);
    const move = (e: PointerEvent): void => {
      const r = view.getBoundingClientRect();
      app.stack.setSplit((e.clientX - r.left) / r.width);
      split.style.left = `${app.stack.split * 100}%`;
    };
    const up = (): void => {
      split.removeEventListener('pointermove', move);
      split.removeEventListener('pointerup', up);
    };
    split.addEventListener('pointermove', move);
    split.addEventListener('pointerup', up);
  });
  app.stack.onChange(sync);
  sync();
}
