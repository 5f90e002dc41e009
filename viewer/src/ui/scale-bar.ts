// Scale bar in µm (when the image has a pixel size) and the zoom as "×N of native", with the level drawn
// and whether it is made by the model.
import type { App } from '../app';

/** 1, 2, 5 × 10^k: the longest such length that fits in `max`. */
export function niceLength(max: number): number {
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [5, 2, 1]) if (m * p <= max) return m * p;
  return p;
}

export function mountScaleBar(app: App): void {
  const bar = document.getElementById('scale-bar')!;
  const fill = bar.querySelector<HTMLElement>('.bar')!;
  const label = bar.querySelector<HTMLElement>('.label')!;
  const badge = document.getElementById('zoom-badge')!;
  const update = (): void => {
    const img = app.stack.image;
    if (!img) {
      bar.hidden = true;
      badge.textContent = '';
      return;
    }
    const z = app.stack.view.nativeZoom(); // screen px per native px
    const level = app.stack.view.targetLevel();
    const made = level > img.nativeLevel;
    const sr = app.stack.layers().some((l) => l.serverLayer === 'sr' && l.kind === 'tiles' && l.visible);
    badge.textContent =
      `×${z >= 10 ? z.toFixed(1) : z.toPrecision(2)} of native · ` +
      `level ${level}/${img.maxLevel}${made ? ` · ×${2 ** (level - img.nativeLevel)} ${sr ? 'model-made' : 'upscaled'}` : ''}`;
    badge.classList.toggle('model', made && sr);
    const px = img.pixelSize;
    bar.hidden = !px;
    if (!px) return;
    const umPerScreenPx = px.x / z;
    const um = niceLength(umPerScreenPx * 140);
    fill.style.width = `${um / umPerScreenPx}px`;
    label.textContent = `${um >= 1 ? um : um.toPrecision(1)} ${px.unit}`;
  };
  app.viewer.addHandler('animation', update);
  app.viewer.addHandler('open', update);
  app.viewer.addHandler('resize', update);
  app.stack.onChange(update);
  update();
}
