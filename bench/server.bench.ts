// Server benchmark (`npm run bench:server`): the tile server as a child process (`phasesr serve`, lite model,
// all cores), driven over its WebSocket by the typed client. Measures, in one run: 8x tiles/s through the
// socket vs the raw engine on the same blocks; cold and warm 1920x1080 viewports at the deepest SR level;
// the share of stale work computed after a fast pan; peak RSS and first-tile latency while serving a
// 2-gigapixel tiled BigTIFF made on the fly (deleted afterwards). Writes docs/benchmarks/server.md
// (server-block{B}-batch{N}.md for other settings). PHASESR_BENCH_COLD=1 runs only the issue-17 cold-viewport matrix (below).
// A benchmark: nothing here asserts timings; goals are reported as met or not.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import sharp from 'sharp';

import { createEngine, DEFAULT_MODEL, haloFor, resolveModel } from '../models';
import { cascadeHalo } from '../models/tiling';
import { generatorConvs, generatorFlops } from '../models/engine/flops';
import { ortConvGflops, ortMatMulGflops } from '../models/engine/ort-backend';
import { PhasesrClient, type TileRequestInput } from '../server/client/phasesr-client';
import { SERVER_DEFAULTS } from '../server/config';
import type { ImageInfo } from '../server/protocol';
import { inputImages } from './input-images';
import { table } from './markdown-table';
import { quantile } from './stats';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TILE = 256;
/** The server's defaults (server/config.ts); PHASESR_BENCH_BLOCK / _BATCH run it with others (--block / --batch). */
const BLOCK = Number(process.env.PHASESR_BENCH_BLOCK ?? SERVER_DEFAULTS.blockSize);
const BATCH = Number(process.env.PHASESR_BENCH_BATCH ?? SERVER_DEFAULTS.batch);
const DEFAULTS = BLOCK === SERVER_DEFAULTS.blockSize && BATCH === SERVER_DEFAULTS.batch;
/** Other settings get their own file, so a comparison run never overwrites the defaults' report. */
const OUT_NAME = DEFAULTS ? 'server.md' : `server-block${BLOCK}-batch${BATCH}.md`;
const OUT_MD = path.join(ROOT, 'docs', 'benchmarks', OUT_NAME);
/** Positions and throughput runs are laid out on a 128 LR pixel grid, whatever the block size. */
const REGION = 128;
const VIEW_W = 1920;
const VIEW_H = 1080;
/** 46341^2 = 2.147 gigapixels (PHASESR_BENCH_BIG_SIDE makes a smaller one for a dry run; the report says which). */
const BIG_SIDE = Number(process.env.PHASESR_BENCH_BIG_SIDE ?? 46341);
const GOALS = { ratio: 0.9, coldMs: 2000, firstMs: 150, warmMs: 100, staleShare: 0.1, bigRssMiB: 1024, bigFirstMs: 1000 };

const started = performance.now();
const load0 = os.loadavg()[0]!;
const work = mkdtempSync(path.join(os.tmpdir(), 'phasesr-bench-server-'));
const children: ChildProcess[] = [];
const cleanup = () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));
const log = (line: string) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${line}\n`);

// ---- helpers -------------------------------------------------------------------------------------

interface ServerChild {
  proc: ChildProcess;
  url: string;
  readyMs: number;
  /** From start to the end of the engine's warm-up (server/engine/warm-up.ts). */
  warmMs: number;
}

/** `phasesr serve --port 0 ...` as a child; resolves when it listens and its engine warm-up has ended, as a
 *  server started ahead of its users would be. */
async function startServer(args: string[]): Promise<ServerChild> {
  const t0 = performance.now();
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin', 'phasesr.js'), 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /phasesr server: (http:\/\/[^/\s]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${err.slice(-2000)}`)));
  });
  const readyMs = performance.now() - t0;
  while (((await (await fetch(`${url}/health`)).json()) as { warmUp?: { state: string } }).warmUp?.state === 'running')
    await new Promise((r) => setTimeout(r, 20));
  return { proc, url, readyMs, warmMs: performance.now() - t0 };
}

async function stopServer(s: ServerChild): Promise<void> {
  if (s.proc.exitCode !== null) return;
  const exited = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (s.proc.exitCode === null) s.proc.kill('SIGKILL');
}

/** Peak and current resident memory of a process, from /proc (VmHWM is the kernel's high-water mark). */
function memOf(pid: number): { hwmMiB: number; rssMiB: number } {
  const t = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t)?.[1] ?? NaN);
  return { hwmMiB: kb('VmHWM') / 1024, rssMiB: kb('VmRSS') / 1024 };
}

async function health(
  url: string,
): Promise<{ stats: { engineCalls: number; blocksInferred: number; tilesComputed: number; cacheHits: number } }> {
  return (await fetch(`${url}/health`)).json() as never;
}

async function imageByName(url: string, name: string): Promise<ImageInfo> {
  const list = (await (await fetch(`${url}/api/v1/images`)).json()) as ImageInfo[];
  const img = list.find((i) => i.name === name || i.name === path.basename(name));
  if (!img) throw new Error(`image ${name} not open on the server (have ${list.map((i) => i.name).join(', ')})`);
  return img;
}

interface Fetched {
  firstMs: number;
  allMs: number;
  ok: number;
  errors: string[];
}

/** Requests tiles and times the first and the last answer. */
async function fetchTiles(client: PhasesrClient, reqs: TileRequestInput[]): Promise<Fetched> {
  const t0 = performance.now();
  let firstMs = NaN;
  let ok = 0;
  const errors: string[] = [];
  for await (const t of client.requestTiles(reqs)) {
    if (Number.isNaN(firstMs)) firstMs = performance.now() - t0;
    if (t.ok) ok++;
    else errors.push(t.code);
  }
  return { firstMs, allMs: performance.now() - t0, ok, errors };
}

/** The tiles of a 1920x1080 viewport whose top-left is at LR pixel (lx, ly), at the deepest level. */
function viewport(
  img: ImageInfo,
  lx: number,
  ly: number,
  encoding: 'png' | 'u16' = 'png',
): { reqs: TileRequestInput[]; rect: [number, number, number, number] } {
  const level = img.maxLevel;
  const s = 2 ** (level - img.nativeLevel);
  const l = img.levels[level]!;
  const px = lx * s;
  const py = ly * s;
  const x0 = Math.floor(px / TILE),
    y0 = Math.floor(py / TILE);
  const x1 = Math.min(l.columns - 1, Math.floor((px + VIEW_W - 1) / TILE)),
    y1 = Math.min(l.rows - 1, Math.floor((py + VIEW_H - 1) / TILE));
  const reqs: TileRequestInput[] = [];
  for (let y = y0; y <= y1; y++)
    for (let x = x0; x <= x1; x++) reqs.push({ imageId: img.imageId, level, x, y, encoding, priority: 'visible' });
  return { reqs, rect: [x0, y0, x1, y1] };
}

/** Distinct LR blocks under a viewport's tiles at the deepest level. */
function blocksOf(v: { rect: [number, number, number, number] }, img: ImageInfo): number {
  const s = 2 ** (img.maxLevel - img.nativeLevel);
  const [x0, y0, x1, y1] = v.rect;
  const first = (t: number) => Math.floor((t * TILE) / s / BLOCK);
  const lastX = Math.min(img.width - 1, Math.floor(((x1 + 1) * TILE - 1) / s));
  const lastY = Math.min(img.height - 1, Math.floor(((y1 + 1) * TILE - 1) / s));
  return (Math.floor(lastX / BLOCK) - first(x0) + 1) * (Math.floor(lastY / BLOCK) - first(y0) + 1);
}

const median = (xs: number[]) => quantile(xs, 0.5);
const p95 = (xs: number[]) => quantile(xs, 0.95);
const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(x < 10 ? 1 : 0)} ms` : '-');
const met = (ok: boolean) => (ok ? 'met' : '**not met**');

// ---- cold-viewport matrix (PHASESR_BENCH_COLD=1) --------------------------------------------------
// The issue-17 goals through the server: cold 1920x1080 8x viewports with the default model, fp32 vs int8
// engine and fixed (--first-block 0) vs adaptive first blocks (the default, 32), without spatial merging
// (--merge-blocks 1) and with it (12; int8 also 4 and 8, in serving blocks' area: a 4-block-wide view merges as rows of 4
// below 8; its bottom tile row, half of a block row, comes as blocks of 32 that join the window when there is room) for
// adaptive first blocks, one fresh server each;
// peak RSS per server; the physical floor (conv FLOPs per viewport / measured GEMM ceilings). Writes
// docs/benchmarks/server-cold.md (PHASESR_BENCH_COLD_MODEL / _SPOTS for a dry run: lite, fewer viewports).
async function coldMatrix(): Promise<void> {
  const modelName = process.env.PHASESR_BENCH_COLD_MODEL ?? DEFAULT_MODEL;
  const nSpots = Number(process.env.PHASESR_BENCH_COLD_SPOTS ?? 4);
  const threads = os.availableParallelism();
  log(`cold matrix: model ${modelName}, ${nSpots} viewports per setting; load ${load0.toFixed(2)} on ${threads} cores`);
  const { files, source } = await inputImages(2, work);
  const model = await resolveModel(modelName);
  const gemm32 = await ortMatMulGflops(1024, threads, 5, 'float32');
  const gemm8 = await ortMatMulGflops(1024, threads, 5, 'int8');
  // The ceiling for the floor: ORT's own 3x3 convolutions (chains of 4, the model's channel counts), best shape.
  const convShapes = [
    { channels: 96, size: 96 },
    { channels: 64, size: 192 },
    { channels: 48, size: 256 },
    { channels: 32, size: 384 },
  ];
  const convRates = { float32: [] as number[], int8: [] as number[] };
  for (const p of ['float32', 'int8'] as const) for (const c of convShapes) convRates[p].push(await ortConvGflops(c, threads, 5, p));
  const conv32 = Math.max(...convRates.float32),
    conv8 = Math.max(...convRates.int8);
  log(`ceilings: GEMM ${gemm32.toFixed(0)} / ${gemm8.toFixed(0)}, conv ${conv32.toFixed(0)} / ${conv8.toFixed(0)} (float32 / int8)`);
  const settings = [
    ['ort-cpu', '0', '1'],
    ['ort-cpu', '32', '1'],
    ['ort-cpu', '32', '12'],
    ['ort-int8', '0', '1'],
    ['ort-int8', '32', '1'],
    ['ort-int8', '32', '4'],
    ['ort-int8', '32', '8'],
    ['ort-int8', '32', '12'],
  ] as const;
  const rows: {
    engine: string;
    first: string;
    merge: string;
    calls: number;
    all: number[];
    first1: number[];
    hwm: number;
    blocks: number;
    small: number;
    /** LR pixels the engine ran per viewport (windows with their halos). */
    px: number;
    ready: number;
    warm: number;
    errors: string[];
  }[] = [];
  for (const [engine, first, merge] of settings) {
    const s = await startServer([
      '--model',
      modelName,
      '--engine',
      engine,
      '--first-block',
      first,
      '--merge-blocks',
      merge,
      '--block',
      String(BLOCK),
      '--batch',
      String(BATCH),
      ...files,
    ]);
    const c = await PhasesrClient.connect(s.url);
    const imgs = await Promise.all(files.map((f) => imageByName(s.url, f)));
    const all: number[] = [],
      first1: number[] = [],
      errors: string[] = [];
    // Block-aligned spots 512 LR px apart on each image (a fresh server: every one is cold).
    const spots: [ImageInfo, number, number][] = [];
    for (let i = 0; spots.length < nSpots; i++)
      spots.push([imgs[i % imgs.length]!, (Math.floor(i / imgs.length) % 2) * 4 * REGION, Math.floor(i / (2 * imgs.length)) * 4 * REGION]);
    for (const [img, lx, ly] of spots) {
      const v = viewport(img, lx, ly);
      c.viewport(img.imageId, img.maxLevel, ...v.rect);
      const f = await fetchTiles(c, v.reqs);
      all.push(f.allMs);
      first1.push(f.firstMs);
      errors.push(...f.errors);
    }
    const h = (await health(s.url)).stats as {
      blocksInferred: number;
      firstBlocksInferred?: number;
      engineCalls: number;
      windowPixels?: number;
    };
    await c.close();
    const mem = memOf(s.proc.pid!);
    await stopServer(s);
    rows.push({
      engine,
      first,
      merge,
      calls: h.engineCalls,
      all,
      first1,
      hwm: mem.hwmMiB,
      blocks: h.blocksInferred,
      small: h.firstBlocksInferred ?? 0,
      px: (h.windowPixels ?? 0) / nSpots,
      ready: s.readyMs,
      warm: s.warmMs,
      errors,
    });
    log(`${engine} first-block ${first} merge ${merge}: all ${all.map((x) => x.toFixed(0))} first ${first1.map((x) => x.toFixed(0))} ms`);
  }
  const halo = haloFor(model.config);
  // The server names each call's cores, so the x2 cascade runs on them plus its own reach only (models/README.md, Serving).
  const cascadeReach = cascadeHalo(model.config);
  const win = BLOCK + 2 * halo;
  const square = (side: number) => ({ h: side, w: side });
  const flopsBlock = generatorFlops(model.config, win, win, square(BLOCK + 2 * cascadeReach));
  const flopsSmall = generatorFlops(model.config, 32 + 2 * halo, 32 + 2 * halo, square(32 + 2 * cascadeReach));
  const blocksPerView = 12; // a block-aligned 1920x1080 8x view: 4x3 blocks of 64 LR px (240x135 LR)
  const flopsView = blocksPerView * flopsBlock;
  // What the model needs at the least: the viewport's 240x135 LR pixels plus one halo around them, in one window.
  const flopsMin = generatorFlops(model.config, 135 + 2 * halo, 240 + 2 * halo, { h: 135 + 2 * cascadeReach, w: 240 + 2 * cascadeReach });
  /** The FLOPs one viewport of a row really ran (its blocks inferred, of them first blocks of 32). */
  const flopsRow = (r: { blocks: number; small: number }): number => ((r.blocks - r.small) * flopsBlock + r.small * flopsSmall) / nSpots;
  const floor = (flops: number, rate: number): number => flops / (rate * 1e6);
  /** Each of a block's convolutions at the rate measured for its output channel count (the nearest shape measured). */
  const perShape = (p: 'float32' | 'int8'): number => {
    const rate = (cout: number): number => {
      const i = convShapes.reduce((b, c, j) => (Math.abs(c.channels - cout) < Math.abs(convShapes[b]!.channels - cout) ? j : b), 0);
      return convRates[p][i]!;
    };
    return (
      blocksPerView *
      generatorConvs(model.config, win, win, square(BLOCK + 2 * cascadeReach)).reduce((a, c) => a + floor(c.flops, rate(c.cout)), 0)
    );
  };
  const rowFloor = (r: { engine: string; blocks: number; small: number }, p: 'float32' | 'int8'): string =>
    (r.engine === 'ort-int8') === (p === 'int8') ? ms(floor(flopsRow(r), p === 'int8' ? conv8 : conv32)) : '-';
  // A merged row's windows vary in size, so only unmerged rows get an as-run floor from their block counts.
  const runRow = (r: (typeof rows)[number]): string =>
    `| as run, best rate: ${r.engine} ${r.first === '0' ? 'fixed' : 'adaptive'}, unmerged (${(flopsRow(r) / 1e9).toFixed(0)} GFLOP) ` +
    `| ${rowFloor(r, 'float32')} | ${rowFloor(r, 'int8')} |`;
  const shapeRow = (c: { channels: number; size: number }, i: number): string =>
    `| 4 chained 3x3 Convs, ${c.channels} -> ${c.channels} ch, ${c.size}^2 | ${convRates.float32[i]!.toFixed(0)} | ${convRates.int8[i]!.toFixed(0)} |`;
  const int8Row = rows.find((r) => r.engine === 'ort-int8' && r.first !== '0' && r.merge === '1');
  const int8Rate = int8Row ? (flopsRow(int8Row) / (median(int8Row.all) * 1e6)).toFixed(0) : '?';
  const reach = (f: number): string => (f <= GOALS.coldMs ? '**reachable on paper**' : '**not reachable**');
  const load1 = os.loadavg()[0]!;
  const columns = [
    'engine',
    'first blocks',
    'merging',
    'all tiles: median / p95',
    'first tile: median / p95',
    "blocks (first tiles' 32) / engine calls",
    'LR window px per view',
    'peak RSS',
    'goals (2 s / 150 ms)',
  ];
  const md =
    `# Cold 8x viewport through the server (issue 17)

Generated by \`PHASESR_BENCH_COLD=1 npm run bench:server\` (bench/server.bench.ts) ` +
    `on ${new Date().toISOString().slice(0, 10)}; ${((performance.now() - started) / 1000).toFixed(0)} s.
Do not edit by hand: re-run the bench.

Model **${modelName}** (${model.sha256.slice(0, 12)}), server defaults (blocks of ${BLOCK} LR px, batch ${BATCH}), one fresh \`phasesr serve\` child per
row, ${nSpots} block-aligned cold 1920x1080 viewports at 8x each (\`viewport\` message, then all its tiles as visible, PNG), one at a time.

${table(
  columns,
  rows.map((r) => [
    r.engine,
    r.first === '0' ? 'fixed (--first-block 0)' : `adaptive (${r.first})`,
    r.merge === '1' ? 'off (--merge-blocks 1)' : `up to ${r.merge}${Number(r.merge) === SERVER_DEFAULTS.mergeBlocks ? ' (default)' : ''}`,
    `${ms(median(r.all))} / ${ms(p95(r.all))}`,
    `${ms(median(r.first1))} / ${ms(p95(r.first1))}`,
    `${r.blocks} (${r.small}) / ${r.calls}`,
    `${(r.px / 1000).toFixed(1)}k`,
    `${r.hwm.toFixed(0)} MiB`,
    `${met(median(r.all) <= GOALS.coldMs)} / ${met(median(r.first1) <= GOALS.firstMs)}`,
  ]),
)}

Per viewport (ms): ${rows
      .map(
        (r) =>
          `${r.engine}/${r.first}/merge ${r.merge}: all ${r.all.map((x) => x.toFixed(0)).join(', ')}; ` +
          `first ${r.first1.map((x) => x.toFixed(0)).join(', ')}`,
      )
      .join('. ')}.
${rows.some((r) => r.errors.length) ? `Tile errors: ${rows.flatMap((r) => r.errors).join(', ')}.` : 'Every tile was served.'}

## Physical floor

FLOPs count 2 per multiply-add, convolutions only (models/engine/flops.ts; it matches a count of every Conv's weights x output
pixels in the exported graph). One block of ${win}x${win} LR px (64 + halo ${halo}; the x2 cascade on the core + ${cascadeReach}, ` +
    `${BLOCK + 2 * cascadeReach}x${BLOCK + 2 * cascadeReach}): ${(flopsBlock / 1e9).toFixed(1)} GFLOP; a first block
of ${32 + 2 * halo}x${32 + 2 * halo}: ${(flopsSmall / 1e9).toFixed(1)} GFLOP. A cold viewport at fixed blocks is ${blocksPerView} blocks = ` +
    `${(flopsView / 1e9).toFixed(1)} GFLOP; the viewport's own
${240}x${135} LR px plus one halo, in one window, would be ${(flopsMin / 1e9).toFixed(1)} GFLOP (the rest is halo overlap between blocks).

Ceilings measured in this run (${threads} threads, best of 5), GFLOP/s (float32) and GOP/s (int8):

| kernel | float32 | int8 |
|---|---|---|
| MatMul 1024^3 (int8: MatMulInteger u8 x s8) | ${gemm32.toFixed(0)} | ${gemm8.toFixed(0)} |
${convShapes.map(shapeRow).join('\n')}

int8 convolutions are the engine's own QDQ form (models/engine/int8-quantize.ts), which ORT fuses into QLinearConv.
The floor uses the best convolution rate (**float32 ${conv32.toFixed(0)}, int8 ${conv8.toFixed(0)}**): a GEMM is not a ceiling for
ORT's convolution kernels (the server's measured times beat a GEMM-based floor). "Per shape" runs each of the model's
convolutions at the rate measured for its output channel count instead (nearest shape): nearer what the model can get.

| per viewport | float32 | int8 |
|---|---|---|
| ${blocksPerView} blocks of 64 (fixed), best rate | ${ms(floor(flopsView, conv32))} | ${ms(floor(flopsView, conv8))} |
| ${blocksPerView} blocks of 64 (fixed), per shape | ${ms(perShape('float32'))} | ${ms(perShape('int8'))} |
${rows
  .filter((r) => r.merge === '1')
  .map(runRow)
  .join('\n')}
| one window, no overlap (${(flopsMin / 1e9).toFixed(0)} GFLOP), best rate | ${ms(floor(flopsMin, conv32))} | ${ms(floor(flopsMin, conv8))} |

Each floor assumes nothing but the convolutions (layer norms, resizes, Q/DQ, PNG) costs time. The int8 server
with adaptive first blocks and no merging ran at ${int8Rate} GOP/s over a whole viewport (median).

**Is 2.0 s reachable with ${modelName} on ${threads} cores?** int8 with the server's blocks: ${reach(floor(flopsView, conv8))} at the best
rate (${ms(floor(flopsView, conv8))}), ${reach(perShape('int8'))} per shape (${ms(perShape('int8'))}); with no halo overlap at all:
${reach(floor(flopsMin, conv8))} (${ms(floor(flopsMin, conv8))}). float32 with the server's blocks: ${reach(floor(flopsView, conv32))}
(${ms(floor(flopsView, conv32))}).

## Setup

- Machine: ${os.cpus()[0]?.model ?? '?'}, ${threads} cores; Node ${process.version}. 1-minute load ` +
    `average ${load0.toFixed(2)} at the start, ${load1.toFixed(2)} at the end
  (the end counts the bench itself).${process.env.PHASESR_BENCH_QUIET ? ` ${process.env.PHASESR_BENCH_QUIET}` : ''}
- Images: ${source}. Server start to listening / to the end of its engine warm-up (measured before the first viewport) per row: ${rows
      .map((r) => `${ms(r.ready)} / ${ms(r.warm)}`)
      .join(', ')}.
`;
  const out = path.join(ROOT, 'docs', 'benchmarks', modelName === DEFAULT_MODEL && nSpots >= 4 ? 'server-cold.md' : 'server-cold-dry.md');
  writeFileSync(out, md);
  process.stdout.write(md);
  log(`wrote ${path.relative(ROOT, out)}`);
}

if (process.env.PHASESR_BENCH_COLD) {
  await coldMatrix();
  process.exit(0);
}

// ---- 1. throughput: through the socket vs the raw engine -----------------------------------------

const THROUGHPUT_REGIONS = 2; // 2x2 regions of 128 LR pixels = 64 tiles of 256^2 at 8x per run
const REPS = 3;

/** The raw engine on the same blocks as a socket run: one rep = the blocks of 2x2 regions, (BLOCK + 2 halo)^2
 *  windows in calls of BATCH, as the server makes them. */
async function rawEngine(
  threads: number,
): Promise<{ rep: () => Promise<number>; batch: number; window: number; blocks: number; dispose: () => Promise<void> }> {
  const model = await resolveModel('lite');
  const halo = haloFor(model.config);
  const win = BLOCK + 2 * halo;
  // The block's core, as the server names it (the cascade runs there only).
  const need = { x: halo, y: halo, w: BLOCK, h: BLOCK };
  const engine = await createEngine(model.config, model.weights, { threads, log: () => {} });
  const batch = BATCH;
  const input = new Float32Array(batch * win * win);
  for (let i = 0; i < input.length; i++) input[i] = 0.5 + 0.3 * Math.sin(i * 0.013) * Math.cos(i * 0.0007);
  await engine.run(input, batch, win, win, need); // warm-up
  const blocks = ((THROUGHPUT_REGIONS * REGION) / BLOCK) ** 2;
  const tiles = ((THROUGHPUT_REGIONS * REGION * 8) / TILE) ** 2;
  return {
    batch,
    window: win,
    blocks,
    dispose: () => engine.dispose(),
    rep: async () => {
      const t0 = performance.now();
      for (let done = 0; done < blocks; done += batch) await engine.run(input, Math.min(batch, blocks - done), win, win, need);
      return tiles / ((performance.now() - t0) / 1000);
    },
  };
}

/** All 8x tiles of THROUGHPUT_REGIONS^2 fresh regions (region row offset `by0`) through the socket, in tiles/s. */
async function socketRep(client: PhasesrClient, img: ImageInfo, encoding: 'png' | 'u16', by0: number): Promise<number> {
  const level = img.maxLevel;
  const reqs: TileRequestInput[] = [];
  const n = THROUGHPUT_REGIONS * 4; // 4 tiles of 8x per region side
  for (let y = by0 * 4; y < by0 * 4 + n; y++)
    for (let x = 0; x < n; x++) reqs.push({ imageId: img.imageId, level, x, y, encoding, priority: 'visible' });
  const f = await fetchTiles(client, reqs);
  if (f.errors.length) throw new Error(`throughput tiles failed: ${f.errors.slice(0, 3).join(', ')}`);
  return f.ok / (f.allMs / 1000);
}

// ---- main ----------------------------------------------------------------------------------------

const threads = os.availableParallelism();
log(`load average ${load0.toFixed(2)} on ${threads} cores`);
const { files, source } = await inputImages(4, work);

// Throughput, viewports and pan on one server holding the images (opened at start).
const serveArgs = ['--model', 'lite', '--block', String(BLOCK), '--batch', String(BATCH)];
const srv = await startServer([...serveArgs, ...files]);
log(`server up in ${ms(srv.readyMs)} at ${srv.url}`);
const client = await PhasesrClient.connect(srv.url);
const imgs = await Promise.all(files.map((f) => imageByName(srv.url, f)));

log('1. throughput');
// Interleaved (raw, png, u16, raw, ...) so that load from other jobs on the machine hits all three alike.
const raw = await rawEngine(threads);
const rawThroughput = { perSec: [] as number[], batch: raw.batch, window: raw.window, blocks: raw.blocks };
const wsPng: number[] = [];
const wsU16: number[] = [];
for (const img of imgs.slice(0, REPS)) {
  rawThroughput.perSec.push(await raw.rep());
  wsPng.push(await socketRep(client, img, 'png', 0));
  wsU16.push(await socketRep(client, img, 'u16', 4)); // other blocks of the same image: uncached
}
await raw.dispose();
const ratio = median(wsPng) / median(rawThroughput.perSec);

log(
  `raw ${rawThroughput.perSec.map((x) => x.toFixed(1))} png ${wsPng.map((x) => x.toFixed(1))} u16 ${wsU16.map((x) => x.toFixed(1))} tiles/s`,
);
log('2. viewports');
// Cold: viewports on fresh blocks (at 128 LR pixel multiples); warm: the same viewports again.
const cold: Fetched[] = [];
const warm: Fetched[] = [];
const coldSpots: [ImageInfo, number, number][] = [];
// Regions 4-5 of each throughput image (throughput used regions 0-1 of rows 0-1 and 4-5), so never computed.
for (const img of imgs.slice(0, REPS))
  for (const [rx, ry] of [
    [4, 0],
    [4, 4],
  ] as const)
    coldSpots.push([img, rx * REGION, ry * REGION]);
let viewportTiles = 0;
for (const [img, lx, ly] of coldSpots) {
  const v = viewport(img, lx, ly);
  viewportTiles = v.reqs.length;
  client.viewport(img.imageId, img.maxLevel, ...v.rect);
  cold.push(await fetchTiles(client, v.reqs));
}
for (const [img, lx, ly] of coldSpots) {
  const v = viewport(img, lx, ly);
  client.viewport(img.imageId, img.maxLevel, ...v.rect);
  warm.push(await fetchTiles(client, v.reqs));
}

log(`cold ${cold.map((f) => f.allMs.toFixed(0))} warm ${warm.map((f) => f.allMs.toFixed(0))}`);
log('3. fast pan');
// Viewports 256 LR pixels apart (no shared blocks), one every PAN_STEP_MS, as a fast drag would; the last one stays.
const PAN_STEP_MS = 50;
const panImg = imgs[REPS]!;
const panSpots: [number, number][] = [];
for (const ry of [0, 2, 4, 6]) for (const rx of [0, 2, 4, 6]) panSpots.push([rx * REGION, ry * REGION]);
const panPath = panSpots.slice(0, 8);
const before = (await health(srv.url)).stats;
const pending: Promise<Fetched>[] = [];
for (const [i, [lx, ly]] of panPath.entries()) {
  const v = viewport(panImg, lx, ly);
  client.viewport(panImg.imageId, panImg.maxLevel, ...v.rect);
  pending.push(fetchTiles(client, v.reqs));
  if (i < panPath.length - 1) await new Promise((r) => setTimeout(r, PAN_STEP_MS));
}
const panResults = await Promise.all(pending);
await new Promise((r) => setTimeout(r, 500)); // let any engine call still running finish and count
const after = (await health(srv.url)).stats;
const blocksPerViewport = blocksOf(viewport(panImg, 0, 0), panImg);
const staleBlocksRequested = (panPath.length - 1) * blocksPerViewport;
const blocksComputed = after.blocksInferred - before.blocksInferred;
const staleComputed = Math.max(0, blocksComputed - blocksPerViewport);
const staleShare = staleComputed / staleBlocksRequested;
const finalPan = panResults.at(-1)!;
const staleTilesSent = panResults.slice(0, -1).reduce((a, f) => a + f.ok, 0);
await client.close();
const smallMem = memOf(srv.proc.pid!);
await stopServer(srv);

log('4. 2-gigapixel TIFF');
const free = statfsSync(work);
const freeGiB = (free.bavail * free.bsize) / 2 ** 30;
const big16 = freeGiB > 4.3 * 2 + 4;
const bigFile = path.join(work, 'big.tif');
const tMake = performance.now();
await sharp({
  create: { width: BIG_SIDE, height: BIG_SIDE, channels: 1 as 3, background: 0, noise: { type: 'gaussian', mean: 120, sigma: 30 } },
  limitInputPixels: false,
} as never)
  .toColourspace(big16 ? 'grey16' : 'b-w')
  .tiff({ tile: true, tileWidth: 256, tileHeight: 256, bigtiff: true, compression: 'none' })
  .toFile(bigFile);
const makeS = (performance.now() - tMake) / 1000;
const bigBytes = statSync(bigFile).size;
log(`made ${bigFile}: ${(bigBytes / 2 ** 30).toFixed(2)} GiB in ${makeS.toFixed(0)} s`);
const bigSrv = await startServer([...serveArgs, bigFile]);
const rssSamples: number[] = [];
const sampler = setInterval(() => {
  try {
    rssSamples.push(memOf(bigSrv.proc.pid!).rssMiB);
  } catch {
    /* exited */
  }
}, 50);
const afterOpen = memOf(bigSrv.proc.pid!);
const bigClient = await PhasesrClient.connect(bigSrv.url);
const big = await imageByName(bigSrv.url, bigFile);
const cx = Math.floor(big.width / 2),
  cy = Math.floor(big.height / 2);
const clampX = (v: number) => Math.max(0, Math.min(big.width - 1, v));
const clampY = (v: number) => Math.max(0, Math.min(big.height - 1, v));
const tileAt = (level: number, lx0: number, ly0: number): TileRequestInput => {
  const s = 2 ** (level - big.nativeLevel);
  const lx = clampX(lx0),
    ly = clampY(ly0);
  return { imageId: big.imageId, level, x: Math.floor((lx * s) / TILE), y: Math.floor((ly * s) / TILE), priority: 'visible' };
};
log(`big server up in ${ms(bigSrv.readyMs)}`);
const bigNative = await fetchTiles(bigClient, [tileAt(big.nativeLevel, cx, cy)]);
const bigSr = await fetchTiles(bigClient, [tileAt(big.maxLevel, cx + 1000, cy + 1000)]);
const bigOverview = await fetchTiles(bigClient, [tileAt(big.nativeLevel - 3, cx - 5000, cy - 5000)]);
log(
  `big: native ${ms(bigNative.firstMs)}, 8x ${ms(bigSr.firstMs)}, ` +
    `overview ${ms(bigOverview.firstMs)} ${[...bigNative.errors, ...bigSr.errors, ...bigOverview.errors].join(' ')}`,
);
const bigView = viewport(big, Math.max(0, Math.min(big.width - 240, cx - 3000)), Math.max(0, Math.min(big.height - 135, cy + 3000)));
bigClient.viewport(big.imageId, big.maxLevel, ...bigView.rect);
const bigViewport = await fetchTiles(bigClient, bigView.reqs);
clearInterval(sampler);
const bigMem = memOf(bigSrv.proc.pid!);
await bigClient.close();
await stopServer(bigSrv);
rmSync(bigFile, { force: true });

// ---- report --------------------------------------------------------------------------------------

const coldAll = cold.map((f) => f.allMs);
const coldFirst = cold.map((f) => f.firstMs);
const warmAll = warm.map((f) => f.allMs);
const warmFirst = warm.map((f) => f.firstMs);
const bigFirst = Math.max(bigNative.firstMs, bigSr.firstMs);
const load1 = os.loadavg()[0]!;
const totalS = (performance.now() - started) / 1000;
const bad = [cold, warm, [bigNative, bigSr, bigOverview, bigViewport], [finalPan]].flat().flatMap((f) => f.errors);

const md =
  `# Server benchmark

Generated by \`${
    DEFAULTS ? '' : `PHASESR_BENCH_BLOCK=${BLOCK} ` + `PHASESR_BENCH_BATCH=${BATCH} `
  }npm run bench:server\` (bench/server.bench.ts) on ${new Date().toISOString().slice(0, 10)}; ${totalS.toFixed(0)} s.
Do not edit by hand: re-run the bench.

## Results

| measure | value | goal | |
|---|---|---|---|
| 8x tiles/s through the WebSocket (PNG) vs raw engine | ${median(wsPng).toFixed(1)} ` +
  `vs ${median(rawThroughput.perSec).toFixed(1)} tiles/s = **${(ratio * 100).toFixed(0)}%** | >= ${GOALS.ratio * 100}% | ${met(ratio >= GOALS.ratio)} |
| same, u16 tiles (no PNG encoding) | ${median(wsU16).toFixed(1)} tiles/s = ${((median(wsU16) / median(rawThroughput.perSec)) * 100).toFixed(0)}% | | |
| cold 1920x1080 viewport at 8x (${viewportTiles} tiles), all tiles | median ${ms(median(coldAll))}, ` +
  `p95 ${ms(p95(coldAll))} | <= ${GOALS.coldMs} ms | ${met(median(coldAll) <= GOALS.coldMs)} |
| cold viewport, first tile | median ${ms(median(coldFirst))}, p95 ${ms(p95(coldFirst))} | <= ${GOALS.firstMs} ms | ${met(median(coldFirst) <= GOALS.firstMs)} |
| warm viewport (cached), all tiles | median ${ms(median(warmAll))}, p95 ${ms(p95(warmAll))} (first ` +
  `tile ${ms(median(warmFirst))}) | <= ${GOALS.warmMs} ms | ${met(median(warmAll) <= GOALS.warmMs)} |
| stale work after a fast pan (${panPath.length} viewports, one per ${PAN_STEP_MS} ms) | ${staleComputed} ` +
  `of ${staleBlocksRequested} stale blocks computed = **${(staleShare * 100).toFixed(0)}%** | ` +
  `<= ${GOALS.staleShare * 100}% | ${met(staleShare <= GOALS.staleShare)} |
| peak RSS of the server serving a ${((BIG_SIDE * BIG_SIDE) / 1e9).toFixed(2)}-gigapixel ${big16 ? 'uint16' : 'uint8'} ` +
  `TIFF | **${bigMem.hwmMiB.toFixed(0)} MiB** (VmHWM) | <= ${GOALS.bigRssMiB} MiB | ${met(bigMem.hwmMiB <= GOALS.bigRssMiB)} |
| for comparison: peak RSS of the server of sections 1-3 (four 1-megapixel images, same engine) | ${smallMem.hwmMiB.toFixed(0)} MiB | | |
| first tile of the 2-gigapixel TIFF (native / 8x) | ${ms(bigNative.firstMs)} / ${ms(bigSr.firstMs)} | ` +
  `<= ${GOALS.bigFirstMs} ms | ${met(bigFirst <= GOALS.bigFirstMs)} |

${bad.length ? `Tile errors during the run: ${[...new Set(bad)].join(', ')} (${bad.length}).\n` : 'Every tile requested was served (no errors).\n'}
## Setup

- Machine: ${os.cpus()[0]?.model ?? '?'}, ${threads} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}.
  1-minute load average ${load0.toFixed(2)} at the start, before the bench's own work (${load1.toFixed(2)} at the end, which counts the bench itself)${
    load0 > threads / 2
      ? ': **shared with other jobs**. With a load near or above the core count every timing here is inflated (the ' +
        'server gets a fraction of the CPU); compare rows of one run, and re-run on an idle machine for absolute numbers.'
      : ' (the machine was otherwise idle).'
  }
- Server: \`phasesr serve --port 0 ${serveArgs.join(' ')}\` as a child process (ORT CPU, ${threads} threads, micro-batch ${BATCH},
  LR blocks of ${BLOCK} px + halo), images opened at start: ${source}. Client: server/client/phasesr-client.ts in
  this process, one connection.
- Throughput: all 8x tiles of a fresh 256x256 LR region (${rawThroughput.blocks} blocks, 64 tiles of 256x256, PNG) of an image, ${REPS} images,
  median, interleaved with the raw engine running the same ${rawThroughput.blocks} blocks ` +
  `(windows ${rawThroughput.window}x${rawThroughput.window}, batch ${rawThroughput.batch}) in this
  process with ${threads} threads: ${rawThroughput.perSec.map((x) => x.toFixed(1)).join(', ')} tiles/s; socket PNG:
  ${wsPng.map((x) => x.toFixed(1)).join(', ')}; socket u16: ${wsU16.map((x) => x.toFixed(1)).join(', ')}. The socket figure includes
  reading and normalising the source, cutting the 2x/4x/8x outputs into tiles, encoding and sending.
- Viewports: ${coldSpots.length} block-aligned 1920x1080 viewports at the deepest level (${viewportTiles} tiles, ${blocksPerViewport} LR blocks each)
  on the 3 throughput images (blocks they had not used), \`viewport\` message then all tiles as visible; cold = never computed; warm = the same
  viewports again (tile cache). Cold all-tile times: ${coldAll.map((x) => x.toFixed(0)).join(', ')} ms; first ` +
  `tile: ${coldFirst.map((x) => x.toFixed(0)).join(', ')} ms.
- Fast pan: ${panPath.length} viewports 256 LR px apart (no shared blocks), one every ${PAN_STEP_MS} ms, each announced with a
  \`viewport\` message (the server drops queued tiles outside it) and requested; stale = blocks of the first
  ${panPath.length - 1} viewports. Blocks inferred during the pan (server /health): ${blocksComputed}, of which ${blocksPerViewport} for the final
  viewport (served in ${ms(finalPan.allMs)}). An engine call already running when the view moves cannot be
  interrupted, so blocks of viewports already running when the view moves are what is computed in vain;
  stale tiles sent to the client: ${staleTilesSent} (cancelled requests never get a frame).
- 2-gigapixel TIFF: ${BIG_SIDE}x${BIG_SIDE} ${big16 ? 'uint16' : 'uint8 (disk was short for uint16)'} Gaussian noise, tiled 256x256 BigTIFF, uncompressed,
  ${(bigBytes / 2 ** 30).toFixed(2)} GiB, written by sharp/libvips in ${makeS.toFixed(0)} s (streamed, never in memory) in the OS temp
  folder (${freeGiB.toFixed(0)} GiB free) and deleted afterwards. Served by a fresh child (\`phasesr serve big.tif\`): start to
  listening ${ms(bigSrv.readyMs)} (the server hashes the whole file for the image id and samples percentiles
  before it listens); RSS then ${afterOpen.rssMiB.toFixed(0)} MiB. Then one native tile at the centre (${ms(bigNative.firstMs)}), one 8x tile
  (${ms(bigSr.firstMs)}, one block inferred), an overview tile at native-3 (${ms(bigOverview.firstMs)}, a 2048x2048 source read), and a
  cold 8x viewport (${bigView.reqs.length} tiles, ${ms(bigViewport.allMs)}). Peak RSS is the kernel's VmHWM of the server process
  over its whole life (sampled RSS max ${Math.max(...rssSamples, 0).toFixed(0)} MiB; at the end ${bigMem.rssMiB.toFixed(0)} MiB).
`;

mkdirSync(path.dirname(OUT_MD), { recursive: true });
writeFileSync(OUT_MD, md);
process.stdout.write(md);
log(`wrote ${path.relative(ROOT, OUT_MD)}`);
process.exit(0);
