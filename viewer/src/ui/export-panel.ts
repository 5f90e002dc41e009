// Export: the current view or a drawn region, super-resolved at a chosen scale, as a TIFF with its pixel
// size. The server super-resolves the region of the image it has open (export-region: no upload, the whole
// image's percentiles, real context around the region), so the file equals that region of `phasesr sr`.
import OpenSeadragon from 'openseadragon';

import type { ImageInfo } from '../../../server/protocol';
import type { App } from '../app';

interface Region {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Largest region (native pixels) sent for export: the result is scale² times this. */
const MAX_REGION_PIXELS = 2048 * 2048;

export function mountExportPanel(app: App): void {
  const regionSel = document.getElementById('export-region') as HTMLSelectElement;
  const scaleSel = document.getElementById('export-scale') as HTMLSelectElement;
  const formatSel = document.getElementById('export-format') as HTMLSelectElement;
  const drawBtn = document.getElementById('draw-region') as HTMLButtonElement;
  const box = document.getElementById('region-box')!;
  const status = document.getElementById('export-status')!;
  const view = document.getElementById('view')!;
  for (const s of [2, 4, 8].filter((s) => s <= app.socket.hello.model.scale)) scaleSel.add(new Option(`×${s}`, String(s)));
  scaleSel.value = String(app.socket.hello.model.scale);
  for (const w of app.registry.writers) formatSel.add(new Option(w.display_name, w.plugin));
  let drawn: Region | undefined;

  const placeBox = (): void => {
    const item = app.stack.item('original');
    box.hidden = !drawn || !item || regionSel.value !== 'drawn';
    if (box.hidden || !drawn || !item) return;
    const p0 = item.imageToViewerElementCoordinates(new OpenSeadragon.Point(drawn.x, drawn.y));
    const p1 = item.imageToViewerElementCoordinates(new OpenSeadragon.Point(drawn.x + drawn.w, drawn.y + drawn.h));
    Object.assign(box.style, { left: `${p0.x}px`, top: `${p0.y}px`, width: `${p1.x - p0.x}px`, height: `${p1.y - p0.y}px` });
  };
  app.viewer.addHandler('animation', placeBox);
  regionSel.onchange = placeBox;

  const startDrawing = (): void => {
    const item = app.stack.item('original');
    if (!item) return;
    app.viewer.setMouseNavEnabled(false);
    drawBtn.classList.add('active');
    view.classList.add('drawing');
    let start: OpenSeadragon.Point | undefined;
    const toImage = (e: PointerEvent): OpenSeadragon.Point => {
      const r = view.getBoundingClientRect();
      return item.viewerElementToImageCoordinates(new OpenSeadragon.Point(e.clientX - r.left, e.clientY - r.top));
    };
    const down = (e: PointerEvent): void => {
      start = toImage(e);
      view.setPointerCapture(e.pointerId);
    };
    const move = (e: PointerEvent): void => {
      if (!start) return;
      const p = toImage(e);
      drawn = clampRegion(
        { x: Math.min(start.x, p.x), y: Math.min(start.y, p.y), w: Math.abs(p.x - start.x), h: Math.abs(p.y - start.y) },
        app.stack.image!,
      );
      regionSel.value = 'drawn';
      placeBox();
    };
    const up = (): void => {
      view.removeEventListener('pointerdown', down, true);
      view.removeEventListener('pointermove', move, true);
      view.removeEventListener('pointerup', up, true);
      view.classList.remove('drawing');
      drawBtn.classList.remove('active');
      app.viewer.setMouseNavEnabled(true);
    };
    view.addEventListener('pointerdown', down, true);
    view.addEventListener('pointermove', move, true);
    view.addEventListener('pointerup', up, true);
  };
  drawBtn.onclick = startDrawing;
  (document.getElementById('export-button') as HTMLButtonElement).onclick = async () => {
    const img = app.stack.image;
    if (!img) return void app.notify('open an image first');
    const v = app.stack.view.visibleNativeRect(0)!;
    const region = regionSel.value === 'drawn' && drawn ? drawn : clampRegion({ x: v.x0, y: v.y0, w: v.x1 - v.x0, h: v.y1 - v.y0 }, img);
    if (region.w < 1 || region.h < 1) return void app.notify('the region is outside the image');
    if (region.w * region.h > MAX_REGION_PIXELS)
      return void app.notify(
        `region of ${region.w}×${region.h} px is too large to export from the viewer; use \`phasesr sr\` for whole images`,
      );
    const scale = Number(scaleSel.value) as 2 | 4 | 8;
    try {
      status.textContent = `super-resolving ${region.w}×${region.h} px…`;
      const { result, file } = await app.socket.exportRegion(
        img.imageId,
        { x: region.x, y: region.y, width: region.w, height: region.h },
        scale,
        (p) => {
          status.textContent = `${p.stage} ${p.total ? Math.round((100 * p.done) / p.total) : 0}%`;
        },
      );
      const a = document.createElement('a');
      a.href = URL.createObjectURL(file);
      a.download = result.name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
      const size = result.pixelSize ? `, ${result.pixelSize.x.toPrecision(3)} ${result.pixelSize.unit}/px` : '';
      status.textContent = `saved ${result.name}: ${result.width}×${result.height} ${result.dtype}${size}`;
    } catch (e) {
      status.textContent = `export failed: ${(e as Error).message}`;
    }
  };
}

function clampRegion(r: Region, img: ImageInfo): Region {
  const x = Math.max(0, Math.floor(r.x));
  const y = Math.max(0, Math.floor(r.y));
  const x1 = Math.min(img.width, Math.ceil(r.x + r.w));
  const y1 = Math.min(img.height, Math.ceil(r.y + r.h));
  return { x, y, w: Math.max(0, x1 - x), h: Math.max(0, y1 - y) };
}
