// The layers panel, as napari shows it: top layer first, an eye to toggle each, the selected layer's
// opacity (and, for the original, how it is upscaled past native: nearest or smooth), and a tag for layers
// whose levels above native are made by the model.
import type { App } from '../app';
import type { LayerState } from '../../../plugin/api';

export function mountLayersPanel(app: App): void {
  const list = document.getElementById('layer-list')!;
  const controls = document.getElementById('layer-controls')!;
  let selected = 'original';
  let controlsFor: string | undefined;

  const render = (): void => {
    const layers = app.stack.layers();
    if (!layers.some((l) => l.id === selected)) selected = layers.at(-1)?.id ?? 'original';
    const cmp = app.stack.compare;
    list.replaceChildren(...[...layers].reverse().map((l, i, all) => row(l, all.length - i, cmp)));
    const s = layers.find((l) => l.id === selected);
    // Rebuilt only when the selection changes, so a slider being dragged is not replaced under the pointer.
    if (controlsFor === `${selected}/${app.stack.smooth}` && controls.childElementCount > 0) return;
    controlsFor = `${selected}/${app.stack.smooth}`;
    controls.replaceChildren();
    if (!s) return;
    controls.append(slider('opacity', s.opacity, (v) => app.stack.set(s.id, { opacity: v })));
    if (s.kind === 'original') {
      const label = document.createElement('label');
      label.className = 'row';
      label.textContent = 'interpolation ';
      const sel = document.createElement('select');
      sel.id = 'interpolation';
      sel.append(new Option('smooth', 'smooth'), new Option('nearest', 'nearest'));
      sel.value = app.stack.smooth ? 'smooth' : 'nearest';
      sel.title = 'how pixels are drawn when magnified past their level (I)';
      sel.onchange = () => app.stack.setSmooth(sel.value === 'smooth');
      label.append(sel);
      controls.append(label);
    }
  };

  const row = (l: LayerState, key: number, cmp: [string, string] | undefined): HTMLElement => {
    const li = document.createElement('li');
    li.className = `layer${l.id === selected ? ' selected' : ''}`;
    li.dataset.layer = l.id;
    const eye = document.createElement('input');
    eye.type = 'checkbox';
    eye.checked = l.visible;
    eye.title = `visible (${key})`;
    eye.className = 'eye';
    eye.onclick = (ev) => {
      ev.stopPropagation();
      app.stack.set(l.id, { visible: eye.checked });
    };
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = l.name;
    const tags = document.createElement('span');
    tags.className = 'tags';
    if (l.kind === 'tiles' && l.serverLayer === 'sr')
      tags.append(tag('model', `levels past native are made by the model (up to ×${l.maxScale})`));
    if (l.kind === 'tiles' && l.serverLayer === 'bicubic')
      tags.append(tag('cubic', `levels past native are a bicubic resize (up to ×${l.maxScale})`));
    if (cmp?.[0] === l.id) tags.append(tag('L', 'compare: left of the split'));
    if (cmp?.[1] === l.id) tags.append(tag('R', 'compare: right of the split'));
    li.append(eye, name, tags);
    li.onclick = () => {
      selected = l.id;
      render();
    };
    return li;
  };

  app.stack.onChange(render);
  render();
}

function tag(text: string, title: string): HTMLElement {
  const t = document.createElement('span');
  t.className = `tag tag-${text.toLowerCase()}`;
  t.textContent = text;
  t.title = title;
  return t;
}

function slider(label: string, value: number, onInput: (v: number) => void): HTMLElement {
  const l = document.createElement('label');
  l.className = 'row';
  l.textContent = `${label} `;
  const input = document.createElement('input');
  input.type = 'range';
  input.min = '0';
  input.max = '1';
  input.step = '0.01';
  input.value = String(value);
  input.id = `layer-${label}`;
  const out = document.createElement('output');
  out.textContent = value.toFixed(2);
  input.oninput = () => {
    out.textContent = Number(input.value).toFixed(2);
    onInput(Number(input.value));
  };
  l.append(input, out);
  return l;
}
