// The OME-Zarr (OME-NGFF 0.4, Zarr v2) view of a served image, as pure data: which deep-zoom level each
// multiscale dataset is, and the .zgroup/.zattrs/.zarray documents. Dataset "0" is the model's top level
// (8x), then 4x, 2x, native, then downsampled levels down to the first that fits in one chunk. Chunks are
// the deep-zoom tiles (one chunk = one raw tile, edge chunks padded with the fill value).
import type { ImageInfo, Pyramid } from '../protocol';

/** Zarr dtype of the raw tiles: float32 images as <f4, 8/16-bit ones as <u2 (the u16 tile encoding). */
export type ZarrDtype = '<u2' | '<f4';

export interface ZarrDataset {
  /** Dataset path in the group ("0" = highest resolution). */
  path: string;
  /** The deep-zoom level it serves (server/protocol/deep-zoom.ts numbering). */
  level: number;
  /** Scale relative to the native image (8, 4, 2, 1, 1/2, ...). */
  scale: number;
  width: number;
  height: number;
}

/** UDUNITS-2 names (what OME-NGFF 0.4 asks for) of the units image metadata gives. */
const UNITS: Record<string, string> = { µm: 'micrometer', nm: 'nanometer', mm: 'millimeter', cm: 'centimeter', m: 'meter' };

export function zarrDtype(imageDtype: ImageInfo['dtype']): ZarrDtype {
  return imageDtype === 'float32' ? '<f4' : '<u2';
}

/** The datasets, highest resolution first (as the spec orders them). */
export function zarrDatasets(p: Pyramid): ZarrDataset[] {
  const out: ZarrDataset[] = [];
  for (let level = p.maxLevel; level >= 0; level--) {
    const l = p.levels[level]!;
    out.push({ path: String(out.length), level, scale: l.scale, width: l.width, height: l.height });
    if (level <= p.nativeLevel && l.width <= p.tileSize && l.height <= p.tileSize) break;
  }
  return out;
}

/** The group's .zattrs: OME-NGFF 0.4 multiscales (+ omero display window from the image's percentiles). */
export function groupAttributes(info: ImageInfo, p: Pyramid, modelName: string): object {
  const unit = info.pixelSize ? UNITS[info.pixelSize.unit] : undefined;
  const px = unit ? info.pixelSize! : { x: 1, y: 1 };
  const axes = (['y', 'x'] as const).map((name) => ({ name, type: 'space', ...(unit ? { unit } : {}) }));
  const [lo, hi] = info.dtype === 'float32' ? [info.percentiles.low, info.percentiles.high] : [0, info.dtype === 'uint8' ? 255 : 65535];
  return {
    multiscales: [
      {
        version: '0.4',
        name: info.name,
        axes,
        datasets: zarrDatasets(p).map((d) => ({
          path: d.path,
          coordinateTransformations: [{ type: 'scale', scale: [px.y / d.scale, px.x / d.scale] }],
        })),
        type: 'phasesr: model levels above native, source downsampled below',
        metadata: { model: modelName, nativeDataset: String(p.maxLevel - p.nativeLevel), percentiles: info.percentiles },
      },
    ],
    omero: {
      channels: [
        {
          label: info.name,
          color: 'FFFFFF',
          active: true,
          window: { start: info.percentiles.low, end: info.percentiles.high, min: lo, max: hi },
        },
      ],
      rdefs: { model: 'greyscale' },
    },
  };
}

/** A dataset's .zarray: uncompressed (every zarr client reads it), chunks = tiles, nested chunk keys. */
export function arrayMetadata(d: ZarrDataset, tileSize: number, dtype: ZarrDtype): object {
  return {
    zarr_format: 2,
    shape: [d.height, d.width],
    chunks: [tileSize, tileSize],
    dtype,
    compressor: null,
    fill_value: 0,
    order: 'C',
    filters: null,
    dimension_separator: '/',
  };
}
