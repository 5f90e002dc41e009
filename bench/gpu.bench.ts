// GPU check (`npm run bench:gpu`, from a fresh clone after `npm ci`): the WebGPU engine next to the CPU
// engine, in one run. Adapter info; parity (max |webgpu - cpu| over every level); ms per 8x tile of 256²
// (the server's 32² LR window plus halo) for every preset at batch 1, 2, 4 and 8 (software adapter: batch 1);
// tiles/s and a cold 1920x1080 8x viewport through the tile server on the synthetic sample, the GPU server at
// each of those batches (which `--batch` to use on a GPU). Writes docs/benchmarks/gpu.md.
// On a software adapter (lavapipe) the sizes shrink (the report says so, and gives the load average).
// The report is rewritten after each part, so a run stopped early still leaves what it measured.
// A benchmark: nothing here asserts timings; goals are reported as met or not.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  createEngine,
  DEFAULT_MODEL,
  describeAdapter,
  generatorParams,
  haloFor,
  initWeights,
  PRESETS,
  probeGpuAdapters,
  resolveModel,
  writeSampleFile,
  type ModelConfig,
  type SuperResBackend,
  type Weights,
} from '../models';
import { PhasesrServer } from '../server';
import { PhasesrClient, type TileRequestInput } from '../server/client/phasesr-client';
import type { ImageInfo } from '../server/protocol';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT_MD = path.join(ROOT, 'docs', 'benchmarks', 'gpu.md');
const TILE = 256;
const GOALS = { viewportMs: 300, paperTileMs: 50 };
type Engine = 'ort-cpu' | 'ort-webgpu';

const started = performance.now();
const log = (line: string) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${line}\n`);
const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(x < 10 ? 1 : 0)} ms` : '-');
const work = mkdtempSync(path.join(os.tmpdir(), 'phasesr-bench-gpu-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

const loadAtStart = os.loadavg()[0]!;
const probe = probeGpuAdapters();
const adapter = probe.adapters[0];
const software = !adapter || adapter.software;
/**
 * Sizes. A hardware GPU gets the real ones: LR windows of 32² + halo (one 256² 8x tile each), batches 1, 2, 4
 * and 8, 5 timed calls, a cold 1920x1080 viewport and 64 tiles through the server (CPU engine at its default
 * batch 1, GPU engine at each batch). A software adapter (lavapipe: tens
 * of seconds per call on a busy 2-core machine) gets small sizes: 12² LR windows (no halo) at batch 1, one
 * timed call, and through the server (its smallest block, 32² + halo) one tile as the viewport and one more for
 * throughput. On 2 shared cores that took 221 s at load 5-13, and 1429 s at load 27-12.
 */
const SIZE = software
  ? { window: 12, batches: [1], reps: 1, viewW: 256, viewH: 256, throughputTiles: 1, label: 'REDUCED (software adapter)' }
  : { window: undefined, batches: [1, 2, 4, 8], reps: 5, viewW: 1920, viewH: 1080, throughputTiles: 64, label: 'full' };

async function weightsFor(name: string, config: ModelConfig): Promise<{ weights: Weights; source: string }> {
  try {
    const m = await resolveModel(name);
    if (m.config.scale === config.scale) return { weights: m.weights, source: 'shipped weights' };
  } catch {
    // No shipped weights for this preset: timing and parity do not depend on the values.
  }
  return { weights: initWeights(generatorParams(config), 1), source: 'initial weights' };
}

interface Row {
  preset: string;
  engine: Engine;
  batch: number;
  window: number;
  firstMs: number;
  callMs: number;
  perTileMs: number;
}

/** Median ms of `reps` calls (the caller has made one warm-up call: shader compilation, first allocations). */
async function timeCalls(e: SuperResBackend, input: Float32Array, n: number, side: number, reps: number): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await e.run(input.slice(), n, side, side);
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!;
}

const rows: Row[] = [];
const parity: { preset: string; weights: string; levels: string; max: number }[] = [];
const notes: string[] = [];

log(`adapter: ${adapter ? describeAdapter(adapter) : `none (${probe.reason})`}; sizes: ${SIZE.label}`);

async function benchPreset(preset: keyof typeof PRESETS): Promise<void> {
  const config = PRESETS[preset](8);
  const { weights, source } = await weightsFor(preset, config);
  // An 8x tile of 256² is a 32² LR core plus the halo; a reduced window is scaled to it by its pixel count.
  const tileWindow = 32 + 2 * haloFor(config);
  const side = SIZE.window ?? tileWindow;
  const tilesPerWindow = (side / tileWindow) ** 2;
  const engines: Partial<Record<Engine, SuperResBackend>> = {};
  try {
    engines['ort-cpu'] = await createEngine(config, weights, { engine: 'ort-cpu', log: () => {} });
    if (adapter) {
      const t0 = performance.now();
      engines['ort-webgpu'] = await createEngine(config, weights, { engine: 'ort-webgpu', log: () => {} });
      notes.push(`${preset}: WebGPU session created in ${ms(performance.now() - t0)} (${source})`);
    }
    for (const batch of SIZE.batches) {
      const input = Float32Array.from({ length: batch * side * side }, (_, i) => ((i * 7919) % 1000) / 1000);
      const outs: Partial<Record<Engine, Float32Array[]>> = {};
      for (const engine of ['ort-cpu', 'ort-webgpu'] as const) {
        const e = engines[engine];
        if (!e) continue;
        const t0 = performance.now();
        outs[engine] = (await e.run(input.slice(), batch, side, side)).map((l) => l.data); // also the warm-up
        const firstMs = performance.now() - t0;
        const callMs = await timeCalls(e, input, batch, side, SIZE.reps);
        rows.push({ preset, engine, batch, window: side, firstMs, callMs, perTileMs: callMs / batch / tilesPerWindow });
        log(`${preset} ${engine} batch ${batch} window ${side}²: first call ${ms(firstMs)}, then ${ms(callMs)} per call`);
      }
      if (outs['ort-webgpu'] && batch === SIZE.batches[0]) {
        const diffs = outs['ort-cpu']!.map((c, k) => c.reduce((m, v, i) => Math.max(m, Math.abs(v - outs['ort-webgpu']![k]![i]!)), 0));
        parity.push({
          preset,
          weights: source,
          levels: diffs.map((d, k) => `y${2 ** (k + 1)} ${d.toExponential(1)}`).join(', '),
          max: Math.max(...diffs),
        });
      }
    }
  } catch (e) {
    notes.push(`${preset}: FAILED: ${(e as Error & { code?: string }).code ?? ''} ${(e as Error).message}`);
    log(`${preset}: ${(e as Error).message}`);
  } finally {
    for (const e of Object.values(engines)) await e.dispose();
  }
}

// ---- through the tile server (default model, sample image, block 32 so a 256² 8x tile is one block) ----
interface ServerResult {
  engine: Engine;
  batch: number;
  tilesPerS: number;
  viewportMs: number;
  viewportTiles: number;
  firstMs: number;
}
const sample = path.join(work, 'sample.tif');

async function fetchAll(client: PhasesrClient, reqs: TileRequestInput[]): Promise<{ allMs: number; firstMs: number; ok: number }> {
  const t0 = performance.now();
  let firstMs = NaN;
  let ok = 0;
  for await (const t of client.requestTiles(reqs)) {
    if (Number.isNaN(firstMs)) firstMs = performance.now() - t0;
    if (t.ok) ok++;
  }
  return { allMs: performance.now() - t0, firstMs, ok };
}

function tilesAt(img: ImageInfo, x0: number, y0: number, cols: number, rows: number): TileRequestInput[] {
  const reqs: TileRequestInput[] = [];
  for (let y = y0; y < y0 + rows; y++)
    for (let x = x0; x < x0 + cols; x++)
      reqs.push({ imageId: img.imageId, level: img.maxLevel, x, y, encoding: 'png', priority: 'visible' });
  return reqs;
}

const serverRows: ServerResult[] = [];
async function benchServer(engine: Engine, batch: number): Promise<void> {
  if (engine === 'ort-webgpu' && !adapter) return;
  if (!existsSync(sample)) await writeSampleFile(sample, { width: 1024, height: 1024, seed: 3 });
  const server = await PhasesrServer.create({ port: 0, engine, batch, blockSize: 32, images: [sample], log: () => {} });
  try {
    await server.listen();
    const client = await PhasesrClient.connect(server.url);
    const img = ((await (await fetch(`${server.url}/api/v1/images`)).json()) as ImageInfo[])[0]!;
    // Warm-up: one tile far from the measured ones (session start, shader compilation).
    await fetchAll(client, tilesAt(img, 31, 31, 1, 1));
    const cols = Math.ceil(SIZE.viewW / TILE),
      rowsN = Math.ceil(SIZE.viewH / TILE);
    const view = tilesAt(img, 0, 0, cols, rowsN);
    client.viewport(img.imageId, img.maxLevel, 0, 0, cols - 1, rowsN - 1);
    const v = await fetchAll(client, view);
    const n = SIZE.throughputTiles;
    const through = await fetchAll(client, tilesAt(img, 0, 8, Math.min(n, 16), Math.ceil(n / 16)));
    serverRows.push({
      engine,
      batch,
      tilesPerS: (through.ok / through.allMs) * 1000,
      viewportMs: v.allMs,
      viewportTiles: v.ok,
      firstMs: v.firstMs,
    });
    log(
      `server ${engine} batch ${batch}: viewport ${v.ok} tiles in ${ms(v.allMs)}, ${((through.ok / through.allMs) * 1000).toFixed(2)} tiles/s`,
    );
    client.close();
  } finally {
    await server.close();
  }
}

// ---- report, rewritten after every part, so a run stopped early still says what it measured ----
function writeReport(pending: string[]): void {
  const totalS = (performance.now() - started) / 1000;
  // The goals take the GPU's best batch, and say which it was.
  const fastest = <T>(xs: T[], key: (x: T) => number): T | undefined => xs.sort((a, b) => key(a) - key(b))[0];
  const gpuServer = fastest(
    serverRows.filter((r) => r.engine === 'ort-webgpu'),
    (r) => r.viewportMs,
  );
  const paperGpu = fastest(
    rows.filter((r) => r.preset === 'paper' && r.engine === 'ort-webgpu'),
    (r) => r.perTileMs,
  );
  const loadAtEnd = os.loadavg()[0]!;
  const reduced =
    SIZE.window !== undefined
      ? `A software adapter is far slower than the CPU engine, so this run is cut to small sizes: LR windows ` +
        `of ${SIZE.window}² pixels with no halo (not 32² + halo) at batch ${SIZE.batches.join(' and ')}, ${SIZE.reps} timed call ` +
        `after one warm-up call (the parity check's call), and through the server a ${SIZE.viewW}x${SIZE.viewH} viewport (one ` +
        `tile, not 1920x1080) and ${SIZE.throughputTiles} more tile(s) for throughput. The machine's load (above) slows both ` +
        `engines alike; on a busy machine these are upper bounds. "ms per 256² tile" is then the call time per window scaled by ` +
        `pixel count to a tile's window (32 + 2 x halo)², an extrapolation, marked ≈. The goals below only mean something on a hardware GPU.`
      : '';
  const md =
    `# GPU benchmark (\`npm run bench:gpu\`)

Run ${new Date().toISOString().slice(0, 16)}Z on ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.availableParallelism()} ` +
    `cores), in ${totalS.toFixed(0)} s; 1-minute load average ${loadAtStart.toFixed(1)} at the start and ${loadAtEnd.toFixed(1)} at the end.

- **Adapter (WebGPU engine):** ${adapter ? describeAdapter(adapter) : `none: ${probe.reason}`}
- Other Vulkan devices: ${probe.adapters.slice(1).map(describeAdapter).join('; ') || 'none'}
- **Sizes: ${SIZE.label}.** ${reduced}
${pending.length ? `- **INCOMPLETE: this report was written before these parts had run: ${pending.join('; ')}.**\n` : ''}
## Parity (max |webgpu - cpu|, normalised units, batch ${SIZE.batches[0]}, LR window ${SIZE.window ? `${SIZE.window}²` : '32² + halo'})

| preset | weights | per level | max | <= 1e-4 |
|---|---|---|---|---|
${
  parity
    .map((p) => `| ${p.preset} | ${p.weights} | ${p.levels} | ${p.max.toExponential(1)} ` + `| ${p.max <= 1e-4 ? 'yes' : '**NO**'} |`)
    .join('\n') || '| - | - | no WebGPU adapter | - | - |'
}

## Engine: ms per 8x tile of 256² (median of ${SIZE.reps} call(s) after a warm-up call)

| preset | engine | batch | LR window | first call | ms per call | ms per 256² tile |
|---|---|---|---|---|---|---|
${rows
  .map(
    (r) =>
      `| ${r.preset} | ${r.engine} | ${r.batch} | ${r.window}² | ${ms(r.firstMs)} | ${ms(r.callMs)} ` +
      `| ${SIZE.window ? '≈ ' : ''}${ms(r.perTileMs)} |`,
  )
  .join('\n')}

## Through the tile server (default model ${DEFAULT_MODEL}, block 32, ` +
    `PNG tiles at 8x of a 1024² sample, after a warm-up tile)

| engine | --batch | cold ${SIZE.viewW}x${SIZE.viewH} 8x viewport | first tile | tiles/s |
|---|---|---|---|---|
${serverRows
  .map(
    (r) => `| ${r.engine} | ${r.batch} | ${ms(r.viewportMs)} (${r.viewportTiles} tiles) | ${ms(r.firstMs)} | ${r.tilesPerS.toFixed(3)} |`,
  )
  .join('\n')}

## Goals (a hardware GPU)

| goal | result | met |
|---|---|---|
| cold 1920x1080 8x viewport, default model, <= ${GOALS.viewportMs} ms ` +
    `| ${
      gpuServer && !software
        ? `${ms(gpuServer.viewportMs)} (--batch ${gpuServer.batch})`
        : 'not measured (no hardware GPU in this ' + 'run)'
    } | ${gpuServer && !software ? (gpuServer.viewportMs <= GOALS.viewportMs ? 'yes' : 'no') : '-'} |
| paper preset <= ${GOALS.paperTileMs} ms per tile ` +
    `| ${
      paperGpu && !software ? `${ms(paperGpu.perTileMs)} (batch ${paperGpu.batch})` : 'not measured (no hardware GPU in this ' + 'run)'
    } | ${paperGpu && !software ? (paperGpu.perTileMs <= GOALS.paperTileMs ? 'yes' : 'no') : '-'} |

## Notes

${notes.map((n) => `- ${n}`).join('\n')}
- The WebGPU engine runs an equivalent graph around two kernel bugs of onnxruntime-node 1.30 (docs/gpu.md).
`;
  writeFileSync(OUT_MD, md);
}

// The default model and the server first (on a software adapter they are what matters), then the other presets.
const others = (Object.keys(PRESETS) as (keyof typeof PRESETS)[]).filter((p) => p !== DEFAULT_MODEL);
const parts: [string, () => Promise<void>][] = [
  [`engine rows for ${DEFAULT_MODEL}`, () => benchPreset(DEFAULT_MODEL)],
  // The CPU server at its default batch (1); the GPU server at each batch, to choose one.
  ['server on ort-cpu', () => benchServer('ort-cpu', 1)],
  ...SIZE.batches.map((b): [string, () => Promise<void>] => [`server on ort-webgpu at batch ${b}`, () => benchServer('ort-webgpu', b)]),
  ...others.map((p): [string, () => Promise<void>] => [`engine rows for ${p}`, () => benchPreset(p)]),
];
for (const [i, [, run]] of parts.entries()) {
  await run();
  writeReport(parts.slice(i + 1).map(([what]) => what));
}
log(`wrote ${path.relative(ROOT, OUT_MD)}`);
