// An image open on the server: its region reader, the normalisation every tile uses, its deep-zoom
// pyramid, and the LR block grid the model runs on (ServerOptions.blockSize LR pixels a side; at the
// default 64, one block = 2x2 8x tiles, one 4x tile, a quarter of a 2x tile). Block windows follow
// models/tiling.ts exactly as `phasesr sr` does, so tiles stitch.
import path from 'node:path';

import { planTiles, type ImageSource, type TilePlan } from '../../models';
import { pyramidOf, type ImageInfo, type Pyramid } from '../protocol';

export interface Span {
  core: number;
  coreLen: number;
  win: number;
  winLen: number;
}

/** Block (bx, by) of the grid: its LR core and model window, as models/tiling.ts plans them. */
export interface Block extends TilePlan {
  bx: number;
  by: number;
}

export class ServedImage {
  readonly pyramid: Pyramid;
  /** Connections holding it open; when none is left and it is not pinned or REST-held, it closes. */
  readonly holders = new Set<number>();
  /** Opened over REST: stays without holders until idle (ServerOptions.imageIdleMs) or evicted for room. */
  restHeld = false;
  /** Only ever a WebSocket upload: left out of image lists (its uploader, or whoever it gives the id, opens it). */
  unlisted = true;
  /** Date.now() of the last request that used it (idle REST images close). */
  lastUsed = Date.now();
  readonly #halo: number;
  /** Block spans per block side: the serving size, and the first-block size of cold views (TileService). */
  readonly #grids = new Map<number, { xs: Span[]; ys: Span[] }>();

  constructor(
    /** First 16 hex digits of the content's sha256: identical content is one image. */
    readonly id: string,
    readonly sha256: string,
    readonly name: string,
    readonly source: ImageSource,
    /** Normalisation percentiles of the whole image; `unsaturated`: the same without dtype-maximum pixels. */
    readonly percentiles: {
      low: number;
      high: number;
      sampled: boolean;
      pcts: [number, number];
      unsaturated: { low: number; high: number };
    },
    readonly modelScale: number,
    halo: number,
    /** LR pixels per inference block side (one of server/config.ts BLOCK_SIZES). */
    readonly blockSize: number,
    /** Opened by the server operator (start-up images, HTTP uploads): closed only explicitly. */
    public pinned: boolean,
    /** The file is an upload the server owns and deletes on close. */
    readonly ownsFile: boolean,
  ) {
    this.pyramid = pyramidOf(source.width, source.height, modelScale);
    this.#halo = halo;
  }

  touch(): void {
    this.lastUsed = Date.now();
  }

  get width(): number {
    return this.source.width;
  }

  get height(): number {
    return this.source.height;
  }

  /**
   * Block (bx, by) of the grid of `size` LR pixels (the serving block size by default): its LR core and the
   * window fed to the model (core + halo, shifted inwards at edges). Every grid starts at 0 and the sizes
   * divide each other, so a block of a smaller size lies inside one block of a larger size.
   */
  block(bx: number, by: number, size = this.blockSize): Block {
    const g = this.#grid(size);
    const sx = g.xs[bx];
    const sy = g.ys[by];
    if (!sx || !sy) throw new RangeError(`block ${bx},${by} (size ${size}) outside the image`);
    return {
      bx,
      by,
      core: { x: sx.core, y: sy.core, w: sx.coreLen, h: sy.coreLen },
      window: { x: sx.win, y: sy.win, w: sx.winLen, h: sy.winLen },
    };
  }

  #grid(size: number): { xs: Span[]; ys: Span[] } {
    let g = this.#grids.get(size);
    if (!g)
      this.#grids.set(
        size,
        (g = { xs: axis(this.source.width, size, this.#halo, 'x'), ys: axis(this.source.height, size, this.#halo, 'y') }),
      );
    return g;
  }

  info(baseUrl = ''): ImageInfo {
    const s = this.source;
    const p = this.pyramid;
    const api = `${baseUrl}/api/v1/images/${this.id}`;
    return {
      imageId: this.id,
      name: this.name,
      width: s.width,
      height: s.height,
      dtype: s.dtype,
      format: s.format,
      ...(s.pixelSize ? { pixelSize: s.pixelSize } : {}),
      percentiles: {
        low: this.percentiles.low,
        high: this.percentiles.high,
        sampled: this.percentiles.sampled,
        pcts: this.percentiles.pcts,
      },
      displayRange: this.percentiles.unsaturated,
      warnings: s.warnings,
      tileSize: p.tileSize,
      nativeLevel: p.nativeLevel,
      maxLevel: p.maxLevel,
      levels: p.levels,
      descriptorUrl: `${api}/descriptor.json`,
      dziUrl: `${api}/sr.dzi`,
    };
  }
}

/** Display name of a file: its base name. */
export function displayName(file: string): string {
  return path.basename(file);
}

/** Block spans along one axis, from planTiles (the one place that holds the overlap rule). */
function axis(size: number, block: number, halo: number, dir: 'x' | 'y'): Span[] {
  const plans = dir === 'x' ? planTiles(size, 1, block, halo) : planTiles(1, size, block, halo);
  return plans.map((p) =>
    dir === 'x'
      ? { core: p.core.x, coreLen: p.core.w, win: p.window.x, winLen: p.window.w }
      : { core: p.core.y, coreLen: p.core.h, win: p.window.y, winLen: p.window.h },
  );
}
