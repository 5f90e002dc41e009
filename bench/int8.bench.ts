// Int8 benchmark (`npm run bench:int8`): the float32 and the static int8 engine (--engine ort-int8) on the
// shipped lite and body models, 2 threads, interleaved. Per 256^2 tile, a cold 1920x1080 8x viewport computed
// block by block (batch 1), with fixed 64 blocks or with the first 64-block region split into four 32 blocks
// (the server's first design for a first tile sooner; it now runs one 32 block, then the rest of the view as
// one merged window: bench/server.bench.ts measures that), the GEMM ceilings and the floor they give, peak RSS.
// Writes docs/benchmarks/int8.md. A benchmark: nothing asserts timings.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatorFlops } from '../models/engine/flops';
import { OrtBackend, ortMatMulGflops, ortVersion } from '../models/engine/ort-backend';
import { resolveModel } from '../models/registry';
import { haloFor } from '../models/tiling';
import { synthImage } from '../test/helpers/image';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const THREADS = 2;
const REPS = Number(process.env.PHASESR_BENCH_REPS ?? 5);
const BLOCK = 64; // the server's default block (LR pixels)
const SMALL = 32; // one 8x tile of 256^2
// A 1920x1080 viewport at 8x is 240x135 LR pixels: 4x3 blocks of 64 when aligned to the block grid.
const VIEW_BLOCKS = Math.ceil(1920 / 8 / BLOCK) * Math.ceil(1080 / 8 / BLOCK);
const load0 = os.loadavg()[0]!;
const started = performance.now();
const log = (l: string): void => void process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${l}\n`);

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const med = (xs: number[]): number => pct(xs, 50);
const f0 = (x: number): string => x.toFixed(0);
const f1 = (x: number): string => x.toFixed(1);

/** A normalised LR window of a synthetic image (speed does not depend on the values; the diff does a little). */
const window = (side: number): Float32Array => synthImage(side, side, 3).map((v) => (v - 200) / 600);

const gemm32 = await ortMatMulGflops(1024, THREADS, 5, 'float32');
const gemm8 = await ortMatMulGflops(1024, THREADS, 5, 'int8');
log(`GEMM ceilings: float32 ${f1(gemm32)} GFLOP/s, int8 ${f1(gemm8)} GOP/s`);

interface Result {
  model: string;
  halo: number;
  tile: Record<'fp32' | 'int8', number>;
  block: Record<'fp32' | 'int8', number>;
  cold: Record<'fp32' | 'int8', Record<'fixed' | 'adaptive', { all: number[]; first: number[] }>>;
  diff: { max: number; rms: number };
  flopsView: number;
}

const results: Result[] = [];
for (const spec of ['lite', 'body']) {
  const m = await resolveModel(spec);
  const halo = haloFor(m.config);
  const engines = {
    fp32: await OrtBackend.create(m.config, m.weights, { engine: 'ort-cpu', threads: THREADS }),
    int8: await OrtBackend.create(m.config, m.weights, { engine: 'ort-int8', threads: THREADS, ...(m.int8 ? { int8: m.int8 } : {}) }),
  };
  const big = BLOCK + 2 * halo;
  const small = SMALL + 2 * halo;
  const xb = window(big);
  const xs = window(small);
  const call = async (e: OrtBackend, side: number): Promise<number> => {
    const t = performance.now();
    await e.run((side === big ? xb : xs).slice(), 1, side, side);
    return performance.now() - t;
  };
  // Warm-up, and the int8 vs float32 difference on one block.
  const [a, b] = [await engines.fp32.run(xb.slice(), 1, big, big), await engines.int8.run(xb.slice(), 1, big, big)];
  const ya = a.at(-1)!.data;
  const yb = b.at(-1)!.data;
  let maxD = 0,
    se = 0;
  for (let i = 0; i < ya.length; i++) {
    maxD = Math.max(maxD, Math.abs(ya[i]! - yb[i]!));
    se += (ya[i]! - yb[i]!) ** 2;
  }
  await call(engines.fp32, small);
  await call(engines.int8, small);

  const tile = { fp32: [] as number[], int8: [] as number[] };
  const block = { fp32: [] as number[], int8: [] as number[] };
  const cold = {
    fp32: { fixed: { all: [] as number[], first: [] as number[] }, adaptive: { all: [] as number[], first: [] as number[] } },
    int8: { fixed: { all: [] as number[], first: [] as number[] }, adaptive: { all: [] as number[], first: [] as number[] } },
  };
  for (let r = 0; r < REPS; r++) {
    for (const k of ['fp32', 'int8'] as const) {
      tile[k].push(await call(engines[k], small));
      block[k].push(await call(engines[k], big));
      // Fixed: VIEW_BLOCKS blocks of 64, the first tile arrives with the first block.
      let t0 = performance.now();
      let first = 0;
      for (let i = 0; i < VIEW_BLOCKS; i++) {
        await call(engines[k], big);
        if (i === 0) first = performance.now() - t0;
      }
      cold[k].fixed.all.push(performance.now() - t0);
      cold[k].fixed.first.push(first);
      // Adaptive: the first block's region as four 32 blocks (the first tile after the first of them).
      t0 = performance.now();
      for (let i = 0; i < 4; i++) {
        await call(engines[k], small);
        if (i === 0) first = performance.now() - t0;
      }
      for (let i = 1; i < VIEW_BLOCKS; i++) await call(engines[k], big);
      cold[k].adaptive.all.push(performance.now() - t0);
      cold[k].adaptive.first.push(first);
    }
    log(
      `${spec} rep ${r + 1}/${REPS}: tile fp32 ${f0(tile.fp32.at(-1)!)} int8 ${f0(tile.int8.at(-1)!)} ms; viewport ` +
        `fp32 ${f0(cold.fp32.fixed.all.at(-1)!)} int8 ${f0(cold.int8.fixed.all.at(-1)!)} ms`,
    );
  }
  await engines.fp32.dispose();
  await engines.int8.dispose();
  results.push({
    model: spec,
    halo,
    tile: { fp32: med(tile.fp32), int8: med(tile.int8) },
    block: { fp32: med(block.fp32), int8: med(block.int8) },
    cold,
    diff: { max: maxD, rms: Math.sqrt(se / ya.length) },
    flopsView: VIEW_BLOCKS * generatorFlops(m.config, big, big),
  });
}

const rssMiB = process.resourceUsage().maxRSS / 1024;
const load1 = os.loadavg()[0]!;
const row = (cells: string[]): string => `| ${cells.join(' | ')} |`;
const lines: string[] = [
  '# Int8 engine benchmark',
  '',
  `Run ${new Date().toISOString().slice(0, 16)}Z with \`npm run bench:int8\` on ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.availableParallelism()} cores),`,
  `onnxruntime-node ${ortVersion()}, ${THREADS} intra-op threads, ${REPS} interleaved repetitions, in ${((performance.now() - started) / 1000).toFixed(0)} s.`,
  `Load average ${load0.toFixed(1)} at the start and ${load1.toFixed(1)} at the end: the machine is shared with a training run and other`,
  'sessions, so absolute times are noisy; the float32 and int8 figures of one row were measured interleaved, read their ratio.',
  '',
  '## Per tile and per block (median ms, batch 1)',
  '',
  row([
    'model (halo)',
    `256² tile (${SMALL}² + halo) fp32`,
    'int8',
    'speed-up',
    `server block (${BLOCK}² + halo, 4 tiles) fp32`,
    'int8',
    'speed-up',
    'int8 - fp32 at 8x, max / rms (normalised)',
  ]),
  row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
  ...results.map((r) =>
    row([
      `${r.model} (${r.halo})`,
      f1(r.tile.fp32),
      f1(r.tile.int8),
      `${(r.tile.fp32 / r.tile.int8).toFixed(2)}x`,
      f1(r.block.fp32),
      f1(r.block.int8),
      `${(r.block.fp32 / r.block.int8).toFixed(2)}x`,
      `${r.diff.max.toExponential(1)} / ${r.diff.rms.toExponential(1)}`,
    ]),
  ),
  '',
  `## Cold 1920x1080 viewport at 8x, engine only (${VIEW_BLOCKS} blocks of ${BLOCK}, sequential, batch 1; ms, median / p95)`,
  '',
  "Fixed: every block 64. Adaptive: the first block's region as four 32 blocks, so the first tile needs only a 32² window;",
  'the rest at 64, each block its own engine call. This is the engine work of the server as first built, without its socket,',
  'cache and encoding. The server now runs differently: the first tile alone as one 32 block, then the rest of the view as',
  'one merged window (its 64 blocks, and 32 blocks for the bottom tile row), so the cold view through the server',
  '(docs/benchmarks/server-cold.md) is the measure of the goal, not this table.',
  '',
  row(['model', 'engine', 'fixed: all', 'fixed: first tile', 'adaptive: all', 'adaptive: first tile', 'floor (FLOPs / GEMM ceiling)']),
  row(['---', '---', '---:', '---:', '---:', '---:', '---:']),
  ...results.flatMap((r) =>
    (['fp32', 'int8'] as const).map((k) => {
      const c = r.cold[k];
      const ceiling = k === 'fp32' ? gemm32 : gemm8;
      return row([
        r.model,
        k,
        `${f0(med(c.fixed.all))} / ${f0(pct(c.fixed.all, 95))}`,
        `${f0(med(c.fixed.first))} / ${f0(pct(c.fixed.first, 95))}`,
        `${f0(med(c.adaptive.all))} / ${f0(pct(c.adaptive.all, 95))}`,
        `${f0(med(c.adaptive.first))} / ${f0(pct(c.adaptive.first, 95))}`,
        `${f0(r.flopsView / (ceiling * 1e6))} ms (${(r.flopsView / 1e9).toFixed(1)} GFLOP / ${f1(ceiling)})`,
      ]);
    }),
  ),
  '',
  `GEMM ceilings measured in this run (1024³, ${THREADS} threads, best of 5): float32 MatMul ${f1(gemm32)} GFLOP/s, int8 ` +
    `MatMulInteger (u8 x s8) ${f1(gemm8)} GOP/s.`,
  'The floor counts convolution FLOPs only (models/engine/flops.ts) and assumes every one runs at the GEMM ceiling; layer norms,',
  'resizes, quantise/dequantise steps and the float32 convolutions the int8 graph keeps come on top.',
  '',
  `Peak RSS of this process (both engines of both models loaded in turn): ${f0(rssMiB)} MiB.`,
  '',
];
const out = path.join(ROOT, 'docs', 'benchmarks', 'int8.md');
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, lines.join('\n'));
log(`wrote ${path.relative(ROOT, out)}`);
