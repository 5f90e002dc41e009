// Physical pixel size from file metadata: ImageJ and OME-XML descriptions, TIFF X/YResolution, PNG pHYs.
// Reads only headers (TIFF IFDs via tiff-tags.ts, PNG chunks before IDAT), never pixels.
import { open } from 'node:fs/promises';

import { ioError } from './errors';
import type { TiffPage } from './tiff-tags';
import type { PixelSize } from './types';

/** Pixel size found in a file, where it came from, and notes on what was ignored. */
export interface PixelSizeResult {
  pixelSize?: PixelSize;
  source?: 'imagej' | 'ome' | 'tiff-resolution' | 'png-phys';
  warnings: string[];
}

/** Maps micron spellings ('micron', 'microns', 'um', 'µm' with either µ code point, ImageJ's literal
 * '\u00B5m' escape) to 'µm'; any other unit is returned trimmed, as given. */
export function normaliseUnit(unit: string): string {
  const u = unit.trim();
  const l = u.toLowerCase();
  if (l === 'micron' || l === 'microns' || l === 'um' || l === '\\u00b5m' || l === '\u00b5m' || l === '\u03bcm') return 'µm';
  return u;
}

/** Parses an ImageJ ImageDescription (`ImageJ=...\nkey=value\n...`) into its key/value pairs. */
export function parseImageJDescription(desc: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of desc.split(/\r?\n/)) {
    const i = line.indexOf('=');
    if (i > 0) out.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return out;
}

/** PhysicalSizeX/Y (+Unit, default µm) of the first <Pixels> element of an OME-XML description. */
export function parseOmePixelSize(xml: string): PixelSize | undefined {
  const el = /<(?:\w+:)?Pixels\b[^>]*>/.exec(xml)?.[0];
  if (!el) return undefined;
  const attr = (name: string): string | undefined => {
    const m = new RegExp(`\\b${name}\\s*=\\s*("([^"]*)"|'([^']*)')`).exec(el);
    const v = m?.[2] ?? m?.[3];
    return v
      ?.replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
      .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)));
  };
  const x = Number(attr('PhysicalSizeX'));
  if (!(x > 0)) return undefined;
  const yRaw = Number(attr('PhysicalSizeY'));
  const y = yRaw > 0 ? yRaw : x;
  return { x, y, unit: normaliseUnit(attr('PhysicalSizeXUnit') ?? 'µm') };
}

/**
 * Resolutions that are software defaults, not calibrations: 72 and 96 dpi (desktop software), and 1 pixel
 * per mm = 25.4 dpi (libvips/sharp write it into every TIFF and PNG they save without a density; taken
 * at face value it would claim 1000 µm pixels).
 */
function isDefaultDpi(dpi: number): boolean {
  return [72, 96, 25.4].some((d) => Math.abs(dpi - d) < 0.05);
}

/** Pixel size of a TIFF page: OME-XML, then ImageJ description, then X/YResolution with inch/cm units. */
export function pixelSizeFromTiffPage(page: TiffPage): PixelSizeResult {
  const warnings: string[] = [];
  const desc = page.description ?? '';
  const xr = page.xResolution;
  const yr = page.yResolution && page.yResolution > 0 ? page.yResolution : xr;
  if (desc.trimStart().startsWith('<') && /<(?:\w+:)?OME\b/.test(desc)) {
    const ps = parseOmePixelSize(desc);
    if (ps) return { pixelSize: ps, source: 'ome', warnings };
    warnings.push('OME-XML description without PhysicalSizeX: pixel size unknown');
    return { warnings };
  }
  if (desc.startsWith('ImageJ=')) {
    const unit = parseImageJDescription(desc).get('unit');
    if (unit !== undefined) {
      // ImageJ: X/YResolution are pixels per `unit`, whatever ResolutionUnit says.
      if (unit === 'pixel' || unit === 'pixels' || !(xr && xr > 0 && yr && yr > 0)) return { warnings };
      return { pixelSize: { x: 1 / xr, y: 1 / yr, unit: normaliseUnit(unit) }, source: 'imagej', warnings };
    }
  }
  // Plain TIFF: ResolutionUnit 2 inch (the TIFF default when absent), 3 cm, 1 none (no physical size).
  const ru = page.resolutionUnit ?? 2;
  if (!(xr && xr > 0 && yr && yr > 0) || ru === 1) return { warnings };
  const perUnit = ru === 3 ? 1e4 : ru === 2 ? 25400 : NaN;
  if (Number.isNaN(perUnit)) {
    warnings.push(`unknown TIFF ResolutionUnit ${ru}: pixel size ignored`);
    return { warnings };
  }
  // Silently: almost every file saved by generic software carries one of these, warning would be noise.
  if (isDefaultDpi(xr * (ru === 3 ? 2.54 : 1)) && isDefaultDpi(yr * (ru === 3 ? 2.54 : 1))) return { warnings };
  return { pixelSize: { x: perUnit / xr, y: perUnit / yr, unit: 'µm' }, source: 'tiff-resolution', warnings };
}

/**
 * Pixel size from a PNG's pHYs chunk (unit metre only). Parsed by hand because sharp's `density` reports
 * 72 dpi for PNGs that have no pHYs at all, and rounds to DPI.
 */
export async function pixelSizeFromPng(path: string): Promise<PixelSizeResult> {
  const warnings: string[] = [];
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw ioError(path, 'open', err);
  }
  try {
    const head = Buffer.alloc(17);
    let pos = 8; // after the signature; pHYs must come before the first IDAT
    for (let i = 0; i < 256; i++) {
      const { bytesRead } = await fh.read(head, 0, 17, pos);
      if (bytesRead < 8) break;
      const len = head.readUInt32BE(0);
      const type = head.toString('latin1', 4, 8);
      if (type === 'IDAT' || type === 'IEND') break;
      if (type === 'pHYs' && len === 9 && bytesRead === 17) {
        const px = head.readUInt32BE(8);
        const py = head.readUInt32BE(12);
        if (head[16] !== 1 || px === 0 || py === 0) return { warnings }; // unit unknown: aspect ratio only
        if (isDefaultDpi(px * 0.0254) && isDefaultDpi(py * 0.0254)) return { warnings }; // silently, as for TIFF
        return { pixelSize: { x: 1e6 / px, y: 1e6 / py, unit: 'µm' }, source: 'png-phys', warnings };
      }
      pos += 12 + len;
    }
    return { warnings };
  } finally {
    await fh.close();
  }
}
