// Scale-out benchmark (`npm run bench:scale`): the same 8x tiles through the single process (`phasesr serve`,
// 2 threads; also 1 thread, to show what the thread count alone does) and through Redis (`phasesr serve --redis
// --no-local-engine` + `phasesr worker`s: 1 worker x 2 threads, 2 workers x 1 thread), all child processes on
// this machine, each Redis group with a redis-server and a shared folder of its own. Every configuration is
// started first; the reps then take turns (round-robin, the order rotating each round) so that load changes hit
// all alike. Each rep is a region no configuration has computed yet, the same regions for all, and the work
// done (blocks inferred, engine busy time) is read from /health around it. Then the stale work after a fast pan
// through Redis. Writes docs/benchmarks/scale.md (`--dry`: 2 rounds, prints only). Asserts no timings.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { PhasesrClient, type TileRequestInput } from '../server/client/phasesr-client';
import type { ImageInfo } from '../server/protocol';
import { inputImages } from './input-images';
import { health, Proc, RedisProc, startServe, startWorker, waitUntil } from '../test/server/scale/processes';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT_MD = path.join(ROOT, 'docs', 'benchmarks', 'scale.md');
const DRY = process.argv.includes('--dry');
const TILE = 256;
const BLOCK = 64;
/** Each rep: all 8x tiles of a fresh 256x256 LR region = 16 blocks, 64 tiles (a dry run: 128x128, 4 blocks). */
const REGION = DRY ? 128 : 256;
const BLOCKS_PER_REP = (REGION / BLOCK) ** 2;
const ROUNDS = DRY ? 1 : 5;
const IMAGES = 4;
const GOAL = 0.85;
const PAN_STEP_MS = 50;
/** Start-up on a loaded machine (hashing, percentiles, model load) can take minutes. */
const START_MS = 900_000;

const started = performance.now();
const load0 = os.loadavg();
const work = mkdtempSync(path.join(os.tmpdir(), 'phasesr-bench-scale-'));
process.on('exit', () => {
  for (const p of Proc.running) p.child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));
const log = (line: string): void => void process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${line}\n`);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

interface Health {
  stats: { blocksInferred: number; engineCalls: number };
  engineBusyMs?: number;
  redis?: {
    workers?: { blocksInferred: number; engineMs: number; jobMs: number }[];
    workersSeen?: number;
    counters: { removed: number; completed: number; notifyMs: number };
  };
}

/** Work counters of a configuration: in-process from stats, through Redis summed over its workers. */
interface Work {
  blocks: number;
  engineMs: number;
  jobMs: number;
  completed: number;
  notifyMs: number;
}
async function workDone(url: string): Promise<Work> {
  const h = await health<Health>(url);
  const ws = h.redis?.workers ?? [];
  if (!h.redis) return { blocks: h.stats.blocksInferred, engineMs: h.engineBusyMs ?? 0, jobMs: 0, completed: 0, notifyMs: 0 };
  return {
    blocks: sum(ws.map((w) => w.blocksInferred)),
    engineMs: sum(ws.map((w) => w.engineMs)),
    jobMs: sum(ws.map((w) => w.jobMs)),
    completed: h.redis.counters.completed,
    notifyMs: h.redis.counters.notifyMs,
  };
}

interface Rep {
  tilesPerS: number;
  wallMs: number;
  /** What the rep did, from /health (after minus before). */
  work: Work;
}

interface Config {
  name: string;
  /** Engines working in parallel (workers), for the engine utilisation. */
  engines: number;
  url: string;
  client: PhasesrClient;
  images: ImageInfo[];
  reps: Rep[];
  load: number[];
  stop: () => Promise<void>;
}

/** All 8x tiles of the REGION x REGION LR region (rx, ry) of `img`, at once, visible, over one WebSocket. */
async function region(c: Config, img: ImageInfo, rx: number, ry: number): Promise<{ tiles: number; ms: number }> {
  const n = (REGION * 8) / TILE;
  const reqs: TileRequestInput[] = [];
  for (let y = ry * n; y < (ry + 1) * n; y++)
    for (let x = rx * n; x < (rx + 1) * n; x++)
      reqs.push({ imageId: img.imageId, level: img.maxLevel, x, y, encoding: 'png', priority: 'visible' });
  const t0 = performance.now();
  let ok = 0;
  const errors: string[] = [];
  for await (const t of c.client.requestTiles(reqs))
    if (t.ok) ok++;
    else errors.push(t.code);
  if (errors.length) throw new Error(`${c.name}: tiles failed: ${errors.slice(0, 3).join(', ')}`);
  return { tiles: ok, ms: performance.now() - t0 };
}

async function rep(c: Config, r: number): Promise<void> {
  // Rep r: region (1 + r / IMAGES, 1) of image r % IMAGES: new blocks for every rep, the same for every configuration.
  const img = c.images[r % IMAGES]!;
  const w0 = await workDone(c.url);
  const { tiles, ms } = await region(c, img, 1 + Math.floor(r / IMAGES), 1);
  await new Promise((res) => setTimeout(res, 300)); // workers publish their counters as each job ends
  const w1 = await workDone(c.url);
  const work = Object.fromEntries(Object.keys(w1).map((k) => [k, w1[k as keyof Work] - w0[k as keyof Work]])) as unknown as Work;
  c.reps.push({ tilesPerS: tiles / (ms / 1000), wallMs: ms, work });
}

async function connect(name: string, url: string, engines: number, stop: () => Promise<void>): Promise<Config> {
  const client = await PhasesrClient.connect(url);
  const all = (await (await fetch(`${url}/api/v1/images`)).json()) as ImageInfo[];
  const images = files.map((f) => all.find((i) => i.name === path.basename(f))!);
  const c: Config = { name, engines, url, client, images, reps: [], load: [], stop };
  // Warm-up: sessions, first reads, the engine's first run; the bottom-right 8x tile, in no rep or pan region.
  const cols = images[0]!.levels[images[0]!.maxLevel]!.columns;
  const rows = images[0]!.levels[images[0]!.maxLevel]!.rows;
  for await (const t of client.requestTiles([{ imageId: images[0]!.imageId, level: images[0]!.maxLevel, x: cols - 1, y: rows - 1 }]))
    if (!t.ok) throw new Error(`${name}: warm-up tile: ${t.code}`);
  return c;
}

async function single(threads: number): Promise<Config> {
  // --first-block 0: whole 64x64 blocks only, as the workers compute (a cold view's small first block is
  // a latency feature that costs an extra engine call).
  const s = await startServe(
    `single-${threads}`,
    [...files, '--model', 'lite', '--threads', String(threads), '--first-block', '0'],
    START_MS,
  );
  return connect(`single process (\`phasesr serve --threads ${threads}\`)`, s.url, 1, () => s.proc.stop());
}

/** Redis, one front end, `workers` workers of `threads` threads each (--concurrency if given), on a fresh shared folder. */
async function group(name: string, workers: number, threads: number, concurrency?: number): Promise<Config> {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  const redis = await RedisProc.start(dir);
  const shared = path.join(dir, 'shared');
  const front = await startServe(
    `${name}-front`,
    [...files, '--model', 'lite', '--redis', redis.url, '--shared-dir', shared, '--no-local-engine'],
    START_MS,
  );
  const args = ['--model', 'lite', '--redis', redis.url, '--shared-dir', shared, '--threads', String(threads)];
  if (concurrency) args.push('--concurrency', String(concurrency));
  const ws = await Promise.all(Array.from({ length: workers }, (_, i) => startWorker(`${name}-w${i + 1}`, args, START_MS)));
  // The front end takes work only with a live worker (SR_ERR_NO_WORKER otherwise): wait until it lists them all.
  await waitUntil(
    `${name}: ${workers} workers seen`,
    async () => (await health<Health>(front.url)).redis?.workersSeen === workers,
    START_MS,
    500,
  );
  const label =
    `Redis: front end + ${workers} worker${workers > 1 ? 's' : ''} x ${threads} thread${threads > 1 ? 's' : ''}` +
    (concurrency ? `, \`--concurrency ${concurrency}\`` : '');
  return connect(label, front.url, workers, async () => {
    for (const w of ws) await w.stop();
    await front.proc.stop();
    await redis.stop();
  });
}

const { files, source } = await inputImages(IMAGES, work);
log(`load average ${load0.map((x) => x.toFixed(2)).join(' ')} on ${os.availableParallelism()} cores`);

log('starting (all at once): single process x 2 threads, x 1 thread; Redis 1 worker x 2 threads (default and --concurrency 1), 2 x 1');
const configs = await Promise.all([single(2), single(1), group('w1x2', 1, 2), group('w1x2c1', 1, 2, 1), group('w2x1', 2, 1)]);
const [S2, , W12, W12c1, W21] = configs as [Config, Config, Config, Config, Config];
const startedReps = performance.now();
for (let r = 0; r < ROUNDS; r++)
  for (let k = 0; k < configs.length; k++) {
    const c = configs[(r + k) % configs.length]!;
    const l0 = os.loadavg()[0]!;
    await rep(c, r);
    c.load.push(l0, os.loadavg()[0]!);
    const x = c.reps.at(-1)!;
    log(`round ${r + 1}: ${c.name}: ${x.tilesPerS.toFixed(2)} tiles/s, ${x.work.blocks} blocks, engine ${x.work.engineMs.toFixed(0)} ms`);
  }
const repsS = (performance.now() - startedReps) / 1000;

// Fast pan: viewports 256 LR px apart (no shared blocks), one every PAN_STEP_MS, each announced with a viewport
// message (queued jobs outside it are removed from Redis) and requested; the last one stays.
const panImg = W21.images[IMAGES - 1]!;
const VIEW = { w: 1920, h: 1080 };
// Rows 512 and up: below every rep region (LR rows up to 511) and away from the warm-up tile (the bottom-right corner).
const spots: [number, number][] = (
  [
    [0, 512],
    [256, 512],
    [512, 512],
    [768, 512],
    [0, 768],
    [256, 768],
    [512, 768],
    [768, 768],
  ] as [number, number][]
).slice(DRY ? 5 : 0);
const blocksPer = Math.ceil(VIEW.w / 8 / BLOCK) * Math.ceil(VIEW.h / 8 / BLOCK);
const before = await workDone(W21.url);
const removed0 = (await health<Health>(W21.url)).redis!.counters.removed;
const pending: Promise<number>[] = [];
for (const [i, [lx, ly]] of spots.entries()) {
  const level = panImg.maxLevel;
  const x0 = (lx * 8) / TILE,
    y0 = (ly * 8) / TILE;
  // Whole tile indices: the server refuses a viewport with a fractional edge (its fields are integers).
  const x1 = Math.min(panImg.levels[level]!.columns - 1, x0 + Math.ceil(VIEW.w / TILE) - 1);
  const y1 = Math.min(panImg.levels[level]!.rows - 1, y0 + Math.ceil(VIEW.h / TILE) - 1);
  const reqs: TileRequestInput[] = [];
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) reqs.push({ imageId: panImg.imageId, level, x, y, priority: 'visible' });
  W21.client.viewport(panImg.imageId, level, x0, y0, x1, y1);
  pending.push(
    (async () => {
      let ok = 0;
      for await (const t of W21.client.requestTiles(reqs)) if (t.ok) ok++;
      return ok;
    })(),
  );
  if (i < spots.length - 1) await new Promise((r) => setTimeout(r, PAN_STEP_MS));
}
const got = await Promise.all(pending);
await new Promise((r) => setTimeout(r, 3000)); // jobs a worker held when the view moved finish and count
const panInferred = (await workDone(W21.url)).blocks - before.blocks;
const removed = (await health<Health>(W21.url)).redis!.counters.removed - removed0;
for (const c of configs) {
  await c.client.close();
  await c.stop();
}
const staleRequested = (spots.length - 1) * blocksPer;
const staleComputed = Math.max(0, panInferred - blocksPer);

const load1 = os.loadavg();
const tps = (c: Config): number => median(c.reps.map((r) => r.tilesPerS));
const perBlock = (c: Config, f: (r: Rep) => number): number => median(c.reps.map((r) => f(r) / Math.max(1, r.work.blocks)));
const wallPB = (c: Config): number => perBlock(c, (r) => r.wallMs);
const enginePB = (c: Config): number => perBlock(c, (r) => r.work.engineMs);
const blocks = (c: Config): string => [...new Set(c.reps.map((r) => r.work.blocks))].join('/');
const ratio = tps(W12) / tps(S2);
const row = (c: Config): string =>
  `| ${c.name} | **${tps(c).toFixed(2)}** (${c.reps.map((r) => r.tilesPerS.toFixed(2)).join(', ')}) | ${blocks(c)} ` +
  `| ${wallPB(c).toFixed(0)} ms | ${enginePB(c).toFixed(0)} ms | ` +
  `${(median(c.reps.map((r) => r.work.engineMs / (r.wallMs * c.engines))) * 100).toFixed(0)}% | ${(tps(c) / tps(S2)).toFixed(2)}x ` +
  `| ${median(c.load).toFixed(1)} |`;
// Where the distributed path's time per block goes (1 worker x 2 threads: jobs overlapped, or one at a time).
const parts = (c: Config): string =>
  `wall ${wallPB(c).toFixed(0)} ms, engine busy ${enginePB(c).toFixed(0)} ms, a job in hand ${perBlock(c, (r) => r.work.jobMs).toFixed(0)} ms, ` +
  `a finished job reached the front end ${median(c.reps.map((r) => r.work.notifyMs / Math.max(1, r.work.completed))).toFixed(1)} ms after the worker ended it`;
const busy = load0[0]! > os.availableParallelism() / 2;
const md =
  `# Scale-out benchmark (Redis + BullMQ)

Generated by \`npm run bench:scale\` (bench/scale.bench.ts) on ${new Date().toISOString().slice(0, 10)}; ${((performance.now() - started) / 1000).toFixed(0)} s
(the reps ${repsS.toFixed(0)} s). Do not edit by hand: re-run the bench.

## Results

| configuration | 8x tiles/s, median (reps) | blocks per rep | wall per block | engine busy per block | engine busy / (wall x engines) | vs single | load |
|---|---|---|---|---|---|---|---|
${configs.map(row).join('\n')}

- Goal: the distributed path (1 worker x 2 threads, the same threads as the single process) at >= ${GOAL}x the
  in-process tiles/s: **${ratio.toFixed(2)}x, ${ratio >= GOAL ? 'met' : 'not met'}**.
- Queue overhead per block: ${(wallPB(W12) - wallPB(S2)).toFixed(0)} ms (median wall time per block, 1 worker x 2 threads minus the
  single process with 2 threads, the same blocks; ${(wallPB(W12c1) - wallPB(S2)).toFixed(0)} ms with \`--concurrency 1\`). Per block, medians over reps:
  - single process, 2 threads: wall ${wallPB(S2).toFixed(0)} ms, engine busy ${enginePB(S2).toFixed(0)} ms;
  - 1 worker x 2 threads (default concurrency): ${parts(W12)};
  - 1 worker x 2 threads, \`--concurrency 1\`: ${parts(W12c1)}.

  "A job in hand" is the worker's wall time holding a job (the live-server check, reading the block, the engine,
  writing its tiles and marker into the shared folder; overlapping jobs count once); the notification is BullMQ's
  QueueEvents (mean per job).
- Stale work after a fast pan through Redis (2 workers x 1 thread): ${spots.length} 1920x1080 viewports at 8x, 256 LR px apart,
  one every ${PAN_STEP_MS} ms: the workers inferred ${panInferred} blocks, ${blocksPer} of them for the final viewport, so
  **${staleComputed} of ${staleRequested} stale blocks computed = ${((staleComputed / staleRequested) * 100).toFixed(0)}%**; ${removed} queued jobs were removed
  from Redis when the view moved on. Tiles delivered per viewport: ${got.join(', ')}.

## Setup

- Machine: ${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} ` +
  `GiB; Node ${process.version}; redis-server from Debian.
  Load average (1/5/15 min) ${load0.map((x) => x.toFixed(2)).join(' / ')} at the start, ${load1.map((x) => x.toFixed(2)).join(' / ')} at the end${
    busy
      ? ': **the machine was shared with other jobs**, so every process got a fraction of the CPU and the absolute numbers ' +
        'are inflated and noisy; the reps took turns, so the ratios are less affected than the absolute numbers.'
      : '.'
  }
- Model: shipped lite (8x), the engine default. Images: ${source}, opened at start. Each Redis configuration has
  its own redis-server (\`--save "" --appendonly no\`) and a fresh shared folder; the single processes keep tiles in
  memory only (no --cache-dir) and run with \`--first-block 0\` (whole blocks, as the workers). Workers run with
  the default \`--concurrency\` unless the row says otherwise.
- All ${configs.length} configurations run at once (idle ones cost nothing) and take turns: ${ROUNDS} rounds, each configuration one rep per
  round, the order rotating. Rep r: all ${(REGION / 32) ** 2} tiles (8x, PNG) of the ${REGION}x${REGION} LR region at
  (${REGION} x (1 + r div ${IMAGES}), ${REGION}) of image r mod ${IMAGES}, requested at once as visible over one WebSocket, after one warm-up
  tile; tiles/s = tiles / wall time. "Load" is the median 1-minute load average at the reps' starts and ends.
  "Blocks inferred per rep" comes from /health (in-process \`stats.blocksInferred\`, through Redis the workers'
  \`blocksInferred\`): ${BLOCKS_PER_REP} everywhere means the same work and no cache hits. "Engine busy" is wall time with an
  engine run in flight (/health \`engineBusyMs\`, the workers' \`engineMs\`).
- Through Redis the front end runs no model (\`--no-local-engine\`); each worker keeps the model loaded and writes every tile of a block into
  the shared folder's cache, which the front end reads back (no pixels through Redis).
`;
if (!DRY) {
  mkdirSync(path.dirname(OUT_MD), { recursive: true });
  writeFileSync(OUT_MD, md);
}
process.stdout.write(md);
log(DRY ? 'dry run: nothing written' : `wrote ${path.relative(ROOT, OUT_MD)}`);
process.exit(0);
