// Scale-out benchmark (`npm run bench:scale`): the same 8x tiles through the single process (`phasesr serve`,
// 2 threads) and through Redis (`phasesr serve --redis --no-local-engine` + `phasesr worker`s: 1 worker x 2
// threads, 2 workers x 1 thread), all as child processes on this machine with a redis-server of their own;
// the queue overhead per block (distributed vs in-process, same blocks, same threads); and the stale work
// after a fast pan through Redis. Writes docs/benchmarks/scale.md. Nothing here asserts timings.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { PhasesrClient, type TileRequestInput } from '../server/client/phasesr-client';
import type { ImageInfo } from '../server/protocol';
import { inputImages } from './input-images';
import { health, RedisProc, startServe, startWorker, type Proc } from '../test/server/scale/processes';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT_MD = path.join(ROOT, 'docs', 'benchmarks', 'scale.md');
const TILE = 256;
const BLOCK = 64;
/** Each throughput rep: all 8x tiles of a fresh 256x256 LR region = 16 blocks, 64 tiles. */
const REGION = 256;
const REPS = 3;
const GOAL = 0.85;
const PAN_STEP_MS = 50;
/** Start-up on a loaded machine (hashing, percentiles, model load) can take minutes. */
const START_MS = 900_000;

const started = performance.now();
const load0 = os.loadavg();
const work = mkdtempSync(path.join(os.tmpdir(), 'phasesr-bench-scale-'));
const procs: Proc[] = [];
process.on('exit', () => {
  for (const p of procs) p.child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));
const log = (line: string): void => void process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${line}\n`);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Redisy {
  redis: { workers?: { blocksInferred: number }[]; counters: { removed: number; added: number } };
}

/** All 8x tiles of the REGION x REGION LR region at (rx, ry) regions, timed; returns 8x tiles/s and ms per block. */
async function regionRep(
  client: PhasesrClient,
  img: ImageInfo,
  rx: number,
  ry: number,
): Promise<{ tilesPerS: number; msPerBlock: number }> {
  const n = (REGION * 8) / TILE;
  const reqs: TileRequestInput[] = [];
  for (let y = ry * n; y < (ry + 1) * n; y++)
    for (let x = rx * n; x < (rx + 1) * n; x++)
      reqs.push({ imageId: img.imageId, level: img.maxLevel, x, y, encoding: 'png', priority: 'visible' });
  const t0 = performance.now();
  let ok = 0;
  const errors: string[] = [];
  for await (const t of client.requestTiles(reqs))
    if (t.ok) ok++;
    else errors.push(t.code);
  if (errors.length) throw new Error(`tiles failed: ${errors.slice(0, 3).join(', ')}`);
  const s = (performance.now() - t0) / 1000;
  return { tilesPerS: ok / s, msPerBlock: (s * 1000) / (REGION / BLOCK) ** 2 };
}

/** REPS regions (the same ones for every configuration, so the same blocks) through `url`. */
async function throughput(url: string, files: string[]): Promise<{ tilesPerS: number[]; msPerBlock: number[]; load: [number, number] }> {
  const load0 = os.loadavg()[0]!;
  const client = await PhasesrClient.connect(url);
  const list = (await (await fetch(`${url}/api/v1/images`)).json()) as ImageInfo[];
  const out = { tilesPerS: [] as number[], msPerBlock: [] as number[], load: [load0, 0] as [number, number] };
  await regionRep(client, list.find((i) => i.name === path.basename(files[0]!))!, 3, 3); // warm-up: sessions, first reads
  for (let r = 0; r < REPS; r++) {
    const img = list.find((i) => i.name === path.basename(files[r]!))!;
    const x = await regionRep(client, img, 1, 1);
    out.tilesPerS.push(x.tilesPerS);
    out.msPerBlock.push(x.msPerBlock);
  }
  await client.close();
  out.load[1] = os.loadavg()[0]!;
  return out;
}

/** A group: Redis, one front end, `workers` workers of `threads` threads each, on a fresh shared folder. */
async function group(
  name: string,
  files: string[],
  workers: number,
  threads: number,
): Promise<{ url: string; stop: () => Promise<void>; redis: RedisProc }> {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  const redis = await RedisProc.start(dir);
  const shared = path.join(dir, 'shared');
  const front = await startServe(
    `${name}-front`,
    [...files, '--model', 'lite', '--redis', redis.url, '--shared-dir', shared, '--no-local-engine'],
    START_MS,
  );
  procs.push(front.proc);
  const ws: Proc[] = [];
  for (let i = 0; i < workers; i++) {
    const w = await startWorker(
      `${name}-w${i + 1}`,
      ['--model', 'lite', '--redis', redis.url, '--shared-dir', shared, '--threads', String(threads)],
      START_MS,
    );
    procs.push(w);
    ws.push(w);
  }
  return {
    url: front.url,
    redis,
    stop: async () => {
      for (const w of ws) await w.stop();
      await front.proc.stop();
      await redis.stop();
    },
  };
}

const { files, source } = await inputImages(REPS + 1, work);
log(`load average ${load0.map((x) => x.toFixed(2)).join(' ')} on ${os.availableParallelism()} cores`);

log('1. single process, 2 threads');
const single = await startServe('single', [...files, '--model', 'lite', '--threads', '2'], START_MS);
procs.push(single.proc);
const tSingle = await throughput(single.url, files);
await single.proc.stop();
log(`single ${tSingle.tilesPerS.map((x) => x.toFixed(1))} tiles/s`);

log('2. Redis: 1 worker x 2 threads');
const g1 = await group('w1x2', files, 1, 2);
const tW1 = await throughput(g1.url, files);
await g1.stop();
log(`1x2 ${tW1.tilesPerS.map((x) => x.toFixed(1))} tiles/s`);

log('3. Redis: 2 workers x 1 thread, then a fast pan');
const g2 = await group('w2x1', files, 2, 1);
const tW2 = await throughput(g2.url, files);
log(`2x1 ${tW2.tilesPerS.map((x) => x.toFixed(1))} tiles/s`);
// Fast pan: viewports 256 LR px apart (no shared blocks), one every PAN_STEP_MS, each announced with a viewport
// message (queued jobs outside it are removed from Redis) and requested; the last one stays.
const client = await PhasesrClient.connect(g2.url);
const panImg = ((await (await fetch(`${g2.url}/api/v1/images`)).json()) as ImageInfo[]).find(
  (i) => i.name === path.basename(files[REPS]!),
)!;
const VIEW = { w: 1920, h: 1080 };
const spots: [number, number][] = [
  [0, 0],
  [256, 0],
  [512, 0],
  [768, 0],
  [0, 512],
  [256, 512],
  [512, 512],
  [768, 512],
];
const blocksPer = Math.ceil(VIEW.w / 8 / BLOCK) * Math.ceil(VIEW.h / 8 / BLOCK);
const inferred = (h: Redisy): number => (h.redis.workers ?? []).reduce((s, w) => s + w.blocksInferred, 0);
const before = await health<Redisy>(g2.url);
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
  client.viewport(panImg.imageId, level, x0, y0, x1, y1);
  pending.push(
    (async () => {
      let ok = 0;
      for await (const t of client.requestTiles(reqs)) if (t.ok) ok++;
      return ok;
    })(),
  );
  if (i < spots.length - 1) await new Promise((r) => setTimeout(r, PAN_STEP_MS));
}
const got = await Promise.all(pending);
await new Promise((r) => setTimeout(r, 3000)); // jobs a worker held when the view moved finish and count
const after = await health<Redisy>(g2.url);
await client.close();
await g2.stop();
const panInferred = inferred(after) - inferred(before);
const staleRequested = (spots.length - 1) * blocksPer;
const staleComputed = Math.max(0, panInferred - blocksPer);
const removed = after.redis.counters.removed - before.redis.counters.removed;

const load1 = os.loadavg();
const mSingle = median(tSingle.tilesPerS),
  mW1 = median(tW1.tilesPerS),
  mW2 = median(tW2.tilesPerS);
const overheadMs = median(tW1.msPerBlock) - median(tSingle.msPerBlock);
const busy = load0[0]! > os.availableParallelism() / 2;
const row = (name: string, t: { tilesPerS: number[]; msPerBlock: number[]; load: [number, number] }, m: number): string =>
  `| ${name} | **${m.toFixed(2)}** (${t.tilesPerS.map((x) => x.toFixed(2)).join(', ')}) ` +
  `| ${median(t.msPerBlock).toFixed(0)} ms | ${(m / mSingle).toFixed(2)}x | ${t.load.map((x) => x.toFixed(1)).join(' → ')} |`;
const md =
  `# Scale-out benchmark (Redis + BullMQ)

Generated by \`npm run bench:scale\` (bench/scale.bench.ts) on ${new Date().toISOString().slice(0, 10)}; ${((performance.now() - started) / 1000).toFixed(0)} s.
Do not edit by hand: re-run the bench.

## Results

| configuration | 8x tiles/s, median (reps) | wall time per block | vs single process | 1-min load, start → end |
|---|---|---|---|---|
${row('single process (`phasesr serve --threads 2`)', tSingle, mSingle)}
${row('Redis: front end + 1 worker x 2 threads', tW1, mW1)}
${row('Redis: front end + 2 workers x 1 thread', tW2, mW2)}

- Goal: the distributed path (1 worker x 2 threads, the same threads as the single process) at >= ${GOAL}x the
  in-process tiles/s: **${(mW1 / mSingle).toFixed(2)}x, ${mW1 / mSingle >= GOAL ? 'met' : 'not met'}**.
- Queue overhead per block: ${overheadMs.toFixed(0)} ms (median wall time per block through Redis minus in-process,
  same blocks, same engine threads; ${median(tW1.msPerBlock).toFixed(0)} vs ${median(tSingle.msPerBlock).toFixed(0)} ` +
  `ms).${busy ? ' On a loaded machine this difference is within the run-to-run noise: compare with care.' : ''}
- Stale work after a fast pan through Redis (2 workers x 1 thread): ${spots.length} 1920x1080 viewports at 8x, 256 LR px apart,
  one every ${PAN_STEP_MS} ms: the workers inferred ${panInferred} blocks, ${blocksPer} of them for the final viewport, so
  **${staleComputed} of ${staleRequested} stale blocks computed = ${((staleComputed / staleRequested) * 100).toFixed(0)}%**; ${removed} queued jobs were removed
  from Redis when the view moved on. Tiles delivered per viewport: ${got.join(', ')}.

## Setup

- Machine: ${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} ` +
  `GiB; Node ${process.version}; redis-server from Debian.
  Load average (1/5/15 min) ${load0.map((x) => x.toFixed(2)).join(' / ')} at the start, ${load1.map((x) => x.toFixed(2)).join(' / ')} at the end${
    busy
      ? ': **the machine was shared with other jobs (a training run and other sessions)**, so every process here got a ' +
        'fraction of the CPU and the absolute numbers are inflated and noisy; the configurations ran one after the other, so ' +
        'load changes between them bias the ratios too. Re-run on an idle machine before relying on them.'
      : ' (otherwise idle).'
  }
- Model: shipped lite (8x). Images: ${source}, opened at start. Each configuration has its own redis-server
  (\`--save "" --appendonly no\`) and a fresh shared folder (cold tile cache), so all three compute the same blocks.
- Throughput: after one warm-up region, all 64 tiles (8x, PNG) of the 256x256 LR region at (256, 256) of ${REPS} images, one
  image per rep, requested at once as visible over one WebSocket; tiles/s = 64 / wall time; per block = wall time / 16.
- Through Redis the front end runs no model (\`--no-local-engine\`); each worker keeps the model loaded and writes every tile of a block into
  the shared folder's cache, which the front end reads back (no pixels through Redis).
`;
mkdirSync(path.dirname(OUT_MD), { recursive: true });
writeFileSync(OUT_MD, md);
process.stdout.write(md);
log(`wrote ${path.relative(ROOT, OUT_MD)}`);
process.exit(0);
