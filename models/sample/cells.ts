// The specimen as a phase map (radians of optical path): adherent cells of a 10x field at
// ~0.87 um/px, spread, bipolar, rounded and dividing, laid out in clusters and sparse areas, plus
// substrate debris. Only its phase matters: phase contrast turns it into intensity (optics.ts).
import { gaussian, mulberry32 } from '../params';
import { fbm } from './fields';

type Rand = () => number;

/** Phase amplitudes (rad). Tuned by eye against the Usiigaci 10x Ph1 fields, not measured. */
export const PHASE = {
  lamella: 0.28, // thin spread edge of a cell (~0.2 um of cytoplasm)
  body: 0.5, // extra at the cell body's centre
  nucleus: 0.22, // nucleus plateau above the body
  nucleolus: 0.4,
  granule: 0.35, // perinuclear vesicles / lipid droplets: the dark dots of real cells
  texture: 0.06, // cytoplasm fbm texture
  round: 4.5, // rounded (mitotic / detached) cell: thick sphere, glows through the ring
  debris: 0.45,
};

interface Placed {
  x: number;
  y: number;
  r: number;
}

/** Poisson-distributed count (Knuth below 30, normal approximation above). */
function poisson(rand: Rand, gauss: Rand, mean: number): number {
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gauss()));
  const l = Math.exp(-mean);
  let k = 0,
    p = 1;
  for (;;) {
    p *= rand();
    if (p <= l) return k;
    k++;
  }
}

const smooth = (e0: number, e1: number, v: number): number => {
  const t = Math.min(1, Math.max(0, (v - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
};

/** Draws phase into a map with its own bounds; `max` merges cell bodies, `add` stacks details. */
class Canvas {
  constructor(
    readonly w: number,
    readonly h: number,
    readonly data: Float32Array,
  ) {}
  max(x: number, y: number, v: number): void {
    if (x < 0 || y < 0 || x >= this.w || y >= this.h) return;
    const i = y * this.w + x;
    if (v > this.data[i]!) this.data[i] = v;
  }
  add(x: number, y: number, v: number): void {
    if (x < 0 || y < 0 || x >= this.w || y >= this.h) return;
    this.data[y * this.w + x]! += v;
  }
  /** Gaussian bump of peak `a`, sigma `s`, added. */
  bump(cx: number, cy: number, s: number, a: number): void {
    const R = Math.ceil(3 * s);
    for (let y = Math.floor(cy) - R; y <= Math.floor(cy) + R; y++)
      for (let x = Math.floor(cx) - R; x <= Math.floor(cx) + R; x++) {
        const d2 = (x - cx) ** 2 + (y - cy) ** 2;
        this.add(x, y, a * Math.exp(-d2 / (2 * s * s)));
      }
  }
  /** Thin fibre (filopodium, retraction fibre) from (x0,y0) to (x1,y1), phase tapering a0 -> a1. */
  fibre(x0: number, y0: number, x1: number, y1: number, width: number, a0: number, a1: number): void {
    const len = Math.hypot(x1 - x0, y1 - y0);
    const R = Math.ceil(2 * width) + 1;
    // Max along the fibre so that overlapping footprints of successive steps don't stack.
    for (let y = Math.floor(Math.min(y0, y1)) - R; y <= Math.ceil(Math.max(y0, y1)) + R; y++)
      for (let x = Math.floor(Math.min(x0, x1)) - R; x <= Math.ceil(Math.max(x0, x1)) + R; x++) {
        // distance to the segment
        const t = Math.max(0, Math.min(1, ((x - x0) * (x1 - x0) + (y - y0) * (y1 - y0)) / (len * len || 1)));
        const d = Math.hypot(x - (x0 + t * (x1 - x0)), y - (y0 + t * (y1 - y0)));
        if (d > R) continue;
        this.max(x, y, (a0 + (a1 - a0) * t) * Math.exp(-(d * d) / (2 * width * width)));
      }
  }
}

/**
 * A spread (or, with a high aspect ratio, bipolar) cell: a noise-perturbed ellipse with pointed arms
 * (lamellipodia, tails), a domed body, a nucleus with nucleoli, perinuclear granules and fibres.
 */
function spreadCell(cv: Canvas, rand: Rand, gauss: Rand, cx: number, cy: number, len: number, aspect: number, seed: number): void {
  const a = len / 2,
    b = Math.max(4, a / aspect);
  const rot = rand() * 2 * Math.PI;
  const NT = 512;
  // Outline r(theta) in the cell frame: ellipse * (1 + low harmonics + ruffles) + pointed arms.
  const harm: [number, number, number][] = [];
  for (let k = 2; k <= 7; k++) harm.push([k, (0.09 / Math.sqrt(k)) * gauss(), rand() * 2 * Math.PI]);
  for (let k = 9; k <= 24; k += 3) harm.push([k, 0.02 * gauss(), rand() * 2 * Math.PI]);
  const arms: { th: number; l: number; w: number; pointed: boolean }[] = [];
  const nArms = aspect > 3 ? 2 : 2 + Math.floor(rand() * 4);
  for (let j = 0; j < nArms; j++) {
    // Bipolar cells put their two long tails along the major axis.
    const th = aspect > 3 ? j * Math.PI + 0.2 * gauss() : rand() * 2 * Math.PI;
    arms.push({ th, l: a * (aspect > 3 ? 0.4 + 0.6 * rand() : 0.2 + 0.7 * rand()), w: 0.12 + 0.4 * rand(), pointed: rand() < 0.3 });
  }
  const rEll = new Float64Array(NT),
    rOut = new Float64Array(NT);
  let rMax = 0;
  for (let t = 0; t < NT; t++) {
    const th = (2 * Math.PI * t) / NT;
    const e = (a * b) / Math.hypot(b * Math.cos(th), a * Math.sin(th));
    let f = 1;
    for (const [k, c, p] of harm) f += c * Math.cos(k * th + p);
    let r = e * Math.max(0.5, f);
    for (const arm of arms) {
      let d = Math.abs(th - arm.th) % (2 * Math.PI);
      if (d > Math.PI) d = 2 * Math.PI - d;
      // Pointed arms (tails, retraction tips) have a cusp; the others are broad lamellipodia.
      r += arm.l * (arm.pointed ? Math.exp(-d / (0.5 * arm.w)) : Math.exp(-((d / arm.w) ** 2)));
    }
    rEll[t] = e;
    rOut[t] = r;
    rMax = Math.max(rMax, r);
  }
  const lookup = (tab: Float64Array, th: number): number => {
    const u = ((((th / (2 * Math.PI)) % 1) + 1) % 1) * NT;
    const i0 = Math.floor(u) % NT,
      i1 = (i0 + 1) % NT,
      f = u - Math.floor(u);
    return tab[i0]! * (1 - f) + tab[i1]! * f;
  };
  // Nucleus: an ellipse near the centre, along the cell, 9-14 um long.
  const nA = Math.min(a * 0.55, 5 + 3 * rand()),
    nB = Math.min(b * 0.7, nA * (0.6 + 0.3 * rand()));
  const nOff = 0.15 * a * gauss(),
    nX = nOff,
    nY = 0.1 * b * gauss();
  const lam = PHASE.lamella * (0.7 + 0.6 * rand()),
    body = PHASE.body * (0.7 + 0.6 * rand());
  const cos = Math.cos(rot),
    sin = Math.sin(rot);
  const R = Math.ceil(rMax) + 2;
  for (let y = Math.floor(cy) - R; y <= Math.floor(cy) + R; y++)
    for (let x = Math.floor(cx) - R; x <= Math.floor(cx) + R; x++) {
      if (x < 0 || y < 0 || x >= cv.w || y >= cv.h) continue;
      const dx = x - cx,
        dy = y - cy;
      const u = dx * cos + dy * sin,
        v = -dx * sin + dy * cos; // cell frame
      const rho = Math.hypot(u, v),
        th = Math.atan2(v, u);
      const ro = lookup(rOut, th);
      const edge = ro - rho; // ~distance to the outline along the ray
      if (edge <= -1) continue;
      const de = rho / lookup(rEll, th);
      // Thin lamella everywhere, a dome over the body, soft 1.5 px edge (the membrane is not a step).
      let f = lam * (0.6 + 0.4 * smooth(0, 6, edge)) + body * Math.max(0, 1 - de * de) ** 1.5;
      f += PHASE.texture * fbm(x, y, 5, 3, seed) * smooth(0, 4, edge);
      const nd = Math.hypot((u - nX) / nA, (v - nY) / nB);
      f += PHASE.nucleus * (1 - smooth(0.8, 1.1, nd)) * (1 + 0.3 * fbm(x, y, 3, 2, seed + 7));
      cv.max(x, y, f * smooth(-0.8, 0.8, edge));
    }
  const toImg = (u: number, v: number): [number, number] => [cx + u * cos - v * sin, cy + u * sin + v * cos];
  // Nucleoli: 1-3 small dense bumps inside the nucleus.
  const nNuc = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < nNuc; i++) {
    const [px, py] = toImg(nX + 0.5 * nA * (rand() * 2 - 1), nY + 0.5 * nB * (rand() * 2 - 1));
    cv.bump(px, py, 0.9 + 0.5 * rand(), PHASE.nucleolus * (0.7 + 0.6 * rand()));
  }
  // Perinuclear granules: dark dots, denser near the nucleus, only where the cell is.
  const nGran = Math.floor((len / 40) * (3 + 15 * rand() ** 2));
  for (let i = 0; i < nGran; i++) {
    const ang = rand() * 2 * Math.PI;
    const rr = (1.0 + 0.9 * Math.abs(gauss())) * Math.hypot(nA * Math.cos(ang), nB * Math.sin(ang));
    const re = lookup(rOut, ang);
    if (rr > re - 3) continue;
    const [px, py] = toImg(nX + rr * Math.cos(ang), nY + rr * Math.sin(ang));
    cv.bump(px, py, 0.6 + 0.4 * rand(), PHASE.granule * (0.5 + 0.8 * rand()));
  }
  // Fibres from arm tips (retraction fibres, filopodia), some cells only.
  for (const arm of arms) {
    if (rand() < 0.85) continue;
    const re = lookup(rOut, arm.th) - 1;
    const ext = 5 + 25 * rand() ** 2;
    const th2 = arm.th + 0.3 * gauss();
    const [x0, y0] = toImg(re * Math.cos(arm.th), re * Math.sin(arm.th));
    const [x1, y1] = toImg((re + ext) * Math.cos(th2), (re + ext) * Math.sin(th2));
    cv.fibre(x0, y0, x1, y1, 0.45, lam * 1.2, lam * 0.4);
  }
}

/** A rounded cell (mitotic or detached), a sphere of radius r with a few granules. */
function roundCell(cv: Canvas, rand: Rand, cx: number, cy: number, r: number, seed: number): void {
  const amp = PHASE.round * (0.75 + 0.4 * rand());
  const R = Math.ceil(r) + 2;
  for (let y = Math.floor(cy) - R; y <= Math.floor(cy) + R; y++)
    for (let x = Math.floor(cx) - R; x <= Math.floor(cx) + R; x++) {
      const d = Math.hypot(x - cx, y - cy) / r;
      if (d >= 1.15) continue;
      // Flattened sphere: a rounded cell is thick but its top is not a lens.
      const s = Math.sqrt(Math.max(0, 1 - Math.min(d, 1) ** 4));
      const f = amp * s * (1 + 0.08 * fbm(x, y, 3, 2, seed)) * smooth(1.12, 0.95, d);
      cv.max(x, y, f);
    }
  const n = 2 + Math.floor(rand() * 5);
  for (let i = 0; i < n; i++) {
    const ang = rand() * 2 * Math.PI,
      rr = r * 0.55 * Math.sqrt(rand());
    cv.bump(cx + rr * Math.cos(ang), cy + rr * Math.sin(ang), 0.8, PHASE.granule * 0.8);
  }
}

/** Substrate debris: tiny irregular specks, a few px, the dark dots scattered over real fields. */
function debris(cv: Canvas, rand: Rand, cx: number, cy: number): void {
  // A clump of 1-6 sub-pixel bumps: irregular rather than round, like real dust and cell fragments.
  const n = 1 + Math.floor(rand() * 6) * (rand() < 0.5 ? 1 : 0);
  const spread = 0.8 + 2.2 * rand() ** 2;
  const amp = PHASE.debris * (0.3 + 1.0 * rand() ** 2);
  for (let i = 0; i < n; i++)
    cv.bump(cx + spread * (rand() - 0.5) * 2, cy + spread * (rand() - 0.5) * 2, 0.5 + 0.5 * rand(), amp * (0.6 + 0.6 * rand()));
}

/**
 * Phase map of a w x h field (the caller pads it by the optics margin). Cells are laid out by a
 * Thomas cluster process (Gaussian clusters around random parents) plus a uniform sparse component,
 * with overlap rejection so that cells touch rather than pile up; one cluster sits at the centre so
 * that even small fields show cells.
 */
export function phaseMap(w: number, h: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const gauss = gaussian(rand);
  const cv = new Canvas(w, h, new Float32Array(w * h));
  const area = w * h;
  const M = 40; // cells centred up to M px outside the map still reach into it
  // Densities per px^2 at 0.87 um/px: ~60 cells per 1024^2 field on average, as in Usiigaci fields.
  const parents: { x: number; y: number; s: number; n: number }[] = [];
  const nPar = Math.max(1, poisson(rand, gauss, area * 8e-6));
  for (let i = 0; i < nPar; i++) {
    const centre = i === 0;
    parents.push({
      x: centre ? w / 2 : -M + rand() * (w + 2 * M),
      y: centre ? h / 2 : -M + rand() * (h + 2 * M),
      s: 40 + 80 * rand(),
      n: poisson(rand, gauss, 5 + 15 * rand()),
    });
  }
  const centres: { x: number; y: number }[] = [];
  for (const p of parents) for (let i = 0; i < p.n; i++) centres.push({ x: p.x + p.s * gauss(), y: p.y + p.s * gauss() });
  const nSparse = poisson(rand, gauss, area * 3e-5);
  for (let i = 0; i < nSparse; i++) centres.push({ x: -M + rand() * (w + 2 * M), y: -M + rand() * (h + 2 * M) });

  // Overlap rejection on a coarse grid.
  const G = 64,
    gw = Math.ceil((w + 2 * M) / G) + 2;
  const grid = new Map<number, Placed[]>();
  const key = (x: number, y: number): number => (Math.floor((y + M) / G) + 1) * gw + Math.floor((x + M) / G) + 1;
  const fits = (c: Placed): boolean => {
    const k0 = key(c.x, c.y);
    for (const dk of [-gw - 1, -gw, -gw + 1, -1, 0, 1, gw - 1, gw, gw + 1])
      for (const o of grid.get(k0 + dk) ?? []) if (Math.hypot(o.x - c.x, o.y - c.y) < 0.75 * (o.r + c.r)) return false;
    return true;
  };
  let cellSeed = seed * 7919;
  for (const c of centres) {
    const kind = rand();
    cellSeed++;
    if (kind < 0.1) {
      const r = 6 + 5 * rand();
      const pl = { x: c.x, y: c.y, r: r + 2 };
      if (!fits(pl)) continue;
      roundCell(cv, rand, c.x, c.y, r, cellSeed);
      grid.set(key(c.x, c.y), [...(grid.get(key(c.x, c.y)) ?? []), pl]);
    } else if (kind < 0.15) {
      // Dividing: two round daughters, touching.
      const r = 5 + 3 * rand(),
        ang = rand() * Math.PI;
      const pl = { x: c.x, y: c.y, r: 2 * r + 2 };
      if (!fits(pl)) continue;
      for (const s of [-1, 1]) roundCell(cv, rand, c.x + s * r * Math.cos(ang), c.y + s * r * Math.sin(ang), r, cellSeed + s);
      grid.set(key(c.x, c.y), [...(grid.get(key(c.x, c.y)) ?? []), pl]);
    } else {
      const bipolar = kind > 0.85;
      const len = bipolar ? 50 + 60 * rand() : 30 + 50 * rand() ** 1.3;
      const aspect = bipolar ? 3.5 + 4 * rand() : 1.1 + 1.6 * rand();
      const pl = { x: c.x, y: c.y, r: len * 0.45 };
      if (!fits(pl)) continue;
      spreadCell(cv, rand, gauss, c.x, c.y, len, aspect, cellSeed);
      grid.set(key(c.x, c.y), [...(grid.get(key(c.x, c.y)) ?? []), pl]);
    }
  }
  const nDebris = poisson(rand, gauss, area * 6e-4);
  for (let i = 0; i < nDebris; i++) debris(cv, rand, rand() * w, rand() * h);
  return cv.data;
}
