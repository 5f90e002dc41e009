// The image's facts, as napari's layer info: size, dtype, pixel size, the intensity range the tiles map (its
// 0.1/99.9 percentiles), and the pyramid with the model-made levels marked and the level drawn now in bold.
import type { App } from '../app';

export function mountInfoPanel(app: App): void {
  const table = document.getElementById('image-info') as HTMLTableElement;
  let shownFor = '';
  const render = (): void => {
    const img = app.stack.image;
    const current = app.stack.view.targetLevel();
    const key = `${img?.imageId}/${current}`;
    if (key === shownFor) return;
    shownFor = key;
    if (!img) return void table.replaceChildren();
    const rows: [string, string, string?][] = [
      ['size', `${img.width} × ${img.height}`],
      ['dtype', `${img.dtype} (${img.format})`],
      ['pixel size', img.pixelSize ? `${img.pixelSize.x.toPrecision(3)} ${img.pixelSize.unit}` : 'unknown'],
      ['range', `${fmt(img.percentiles.low)} – ${fmt(img.percentiles.high)}`],
    ];
    for (const l of img.levels.filter((l) => l.level >= img.nativeLevel - 2)) {
      const what = l.source === 'model' ? `×${l.scale} model` : l.source === 'native' ? 'native' : `1/${1 / l.scale}`;
      rows.push([
        `level ${l.level}`,
        `${what} · ${l.width}×${l.height}`,
        `${l.source === 'model' ? 'model' : ''}${l.level === current ? ' current' : ''}`,
      ]);
    }
    table.replaceChildren(
      ...rows.map(([k, v, cls]) => {
        const tr = document.createElement('tr');
        if (cls) tr.className = cls.trim();
        const a = document.createElement('td');
        a.textContent = k;
        const b = document.createElement('td');
        b.textContent = v;
        tr.append(a, b);
        return tr;
      }),
    );
  };
  app.viewer.addHandler('animation', render);
  app.viewer.addHandler('animation-finish', render);
  app.stack.onChange(render);
  render();
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);
}
