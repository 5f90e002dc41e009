// GPU check (`npm run bench:gpu`, from a fresh clone after `npm ci`): the WebGPU engine next to the CPU
// engine, in one run. Adapter info; parity (max |webgpu - cpu| over every level); ms per 8x tile of 256²
// (the server's 32² LR window plus halo) for every preset at batch 1 and 8; tiles/s and a cold 1920x1080
// 8x viewport through the tile server on the synthetic sample. Writes docs/benchmarks/gpu.md.
// On a software adapter (lavapipe) the sizes shrink (the report says so); on an idle machine the
// run then takes ~5 minutes, longer on a loaded one.
// A benchmark: nothing here asserts timings; goals are reported as met or not.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  createEngine, DEFAULT_MODEL, describeAdapter, generatorParams, haloFor, initWeights, PRESETS, probeGpuAdapters, resolveModel, writeSampleFile,
  type ModelConfig, type SuperResBackend, type Weights,
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

const probe = probeGpuAdapters();
const adapter = probe.adapters[0];
const software = !adapter || adapter.software;
/**
 * Sizes. A hardware GPU gets the real ones. A software adapter (~40x slower than the CPU engine) gets LR
 * windows of 8² + halo instead of 32² + halo, batches 1 and 2 instead of 1 and 8, one timed call, and a
 * 256x256 viewport (one tile) instead of 1920x1080.
 */
const SIZE = software
  ? { lr: 8, batches: [1, 2], reps: 1, viewW: 256, viewH: 256, throughputTiles: 2, label: 'REDUCED (software adapter)' }
  : { lr: 32, batches: [1, 8], reps: 5, viewW: 1920, viewH: 1080, throughputTiles: 64, label: 'full' };

async function weightsFor(name: string, config: ModelConfig): Promise<{ weights: Weights; source: string }> {
  try {
    const m = await resolveModel(name);
    if (m.config.scale === config.scale) return { weights: m.weights, source: 'shipped weights' };
  } catch {
    // No shipped weights for this preset: timing and parity do not depend on the values.
  }
  return { weights: initWeights(generatorParams(config), 1), source: 'initial weights' };
}

interface Row { preset: string; engine: Engine; batch: number; window: number; callMs: number; perTileMs: number; note: string }

/** Median ms of `reps` calls after one warm-up (shader compilation, first allocations). */
async function timeCalls(e: SuperResBackend, input: Float32Array, n: number, side: number, reps: number): Promise<number> {
  await e.run(input.slice(), n, side, side);
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await e.run(input.slice(), n, side, side);
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!;
}

const rows: Row[] = [];
const parity: { preset: string; levels: string; max: number }[] = [];
const notes: string[] = [];

log(`adapter: ${adapter ? describeAdapter(adapter) : `none (${probe.reason})`}; sizes: ${SIZE.label}`);
// The default model first: on a software adapter it is the row that matters.
const presets = (Object.keys(PRESETS) as (keyof typeof PRESETS)[]).sort((a, b) => Number(b === DEFAULT_MODEL) - Number(a === DEFAULT_MODEL));
for (const preset of presets) {
  const config = PRESETS[preset](8);
  // On a software adapter the big presets (paper: widths 512/256) run batch 1 only.
  const batches = software && config.widths[0]! > 128 ? SIZE.batches.slice(0, 1) : SIZE.batches;
  const { weights, source } = await weightsFor(preset, config);
  const side = SIZE.lr + 2 * haloFor(config);
  // An 8x tile of 256² is 32² LR pixels; a reduced window covers (lr/32)² of one.
  const tilesPerWindow = (SIZE.lr / 32) ** 2;
  const engines: Partial<Record<Engine, SuperResBackend>> = {};
  try {
    engines['ort-cpu'] = await createEngine(config, weights, { engine: 'ort-cpu', log: () => {} });
    if (adapter) {
      const t0 = performance.now();
      engines['ort-webgpu'] = await createEngine(config, weights, { engine: 'ort-webgpu', log: () => {} });
      notes.push(`${preset}: WebGPU session created in ${ms(performance.now() - t0)} (${source})`);
    }
    for (const batch of batches) {
      const input = Float32Array.from({ length: batch * side * side }, (_, i) => ((i * 7919) % 1000) / 1000);
      const outs: Partial<Record<Engine, Float32Array[]>> = {};
      for (const engine of ['ort-cpu', 'ort-webgpu'] as const) {
        const e = engines[engine];
        if (!e) continue;
        outs[engine] = (await e.run(input.slice(), batch, side, side)).map((l) => l.data);
        const callMs = await timeCalls(e, input, batch, side, SIZE.reps);
        rows.push({ preset, engine, batch, window: side, callMs, perTileMs: callMs / batch / tilesPerWindow, note: source });
        log(`${preset} ${engine} batch ${batch} window ${side}²: ${ms(callMs)} per call`);
      }
      if (outs['ort-webgpu'] && batch === SIZE.batches[0]) {
        const diffs = outs['ort-cpu']!.map((c, k) => c.reduce((m, v, i) => Math.max(m, Math.abs(v - outs['ort-webgpu']![k]![i]!)), 0));
        parity.push({ preset, levels: diffs.map((d, k) => `y${2 ** (k + 1)} ${d.toExponential(1)}`).join(', '), max: Math.max(...diffs) });
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
interface ServerResult { engine: Engine; tilesPerS: number; viewportMs: number; viewportTiles: number; firstMs: number }
const sample = path.join(work, 'sample.tif');
await writeSampleFile(sample, { width: 1024, height: 1024, seed: 3 });

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
  for (let y = y0; y < y0 + rows; y++) for (let x = x0; x < x0 + cols; x++) reqs.push({ imageId: img.imageId, level: img.maxLevel, x, y, encoding: 'png', priority: 'visible' });
  return reqs;
}

const serverRows: ServerResult[] = [];
for (const engine of ['ort-cpu', 'ort-webgpu'] as const) {
  if (engine === 'ort-webgpu' && !adapter) continue;
  const batch = SIZE.batches[SIZE.batches.length - 1]!;
  const server = await PhasesrServer.create({ port: 0, engine, batch, blockSize: 32, images: [sample], log: () => {} });
  try {
    await server.listen();
    const client = await PhasesrClient.connect(server.url);
    const img = (await (await fetch(`${server.url}/api/v1/images`)).json() as ImageInfo[])[0]!;
    // Warm-up: one tile far from the measured ones (session start, shader compilation).
    await fetchAll(client, tilesAt(img, 31, 31, 1, 1));
    const cols = Math.ceil(SIZE.viewW / TILE), rowsN = Math.ceil(SIZE.viewH / TILE);
    const view = tilesAt(img, 0, 0, cols, rowsN);
    client.viewport(img.imageId, img.maxLevel, 0, 0, cols - 1, rowsN - 1);
    const v = await fetchAll(client, view);
    const n = SIZE.throughputTiles;
    const through = await fetchAll(client, tilesAt(img, 0, 8, Math.min(n, 16), Math.ceil(n / 16)));
    serverRows.push({ engine, tilesPerS: (through.ok / through.allMs) * 1000, viewportMs: v.allMs, viewportTiles: v.ok, firstMs: v.firstMs });
    log(`server ${engine}: viewport ${v.ok} tiles in ${ms(v.allMs)}, ${((through.ok / through.allMs) * 1000).toFixed(2)} tiles/s`);
    client.close();
  } finally {
    await server.close();
  }
}

// ---- report ----
const totalS = (performance.now() - started) / 1000;
const gpuServer = serverRows.find((r) => r.engine === 'ort-webgpu');
const paperGpu = rows.find((r) => r.preset === 'paper' && r.engine === 'ort-webgpu' && r.batch === SIZE.batches[SIZE.batches.length - 1]);
const md = `# GPU benchmark (\`npm run bench:gpu\`)

Run ${new Date().toISOString().slice(0, 16)}Z on ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.availableParallelism()} cores), load ${os.loadavg()[0]!.toFixed(1)}, in ${totalS.toFixed(0)} s.

- **Adapter (WebGPU engine):** ${adapter ? describeAdapter(adapter) : `none: ${probe.reason}`}
- Other Vulkan devices: ${probe.adapters.slice(1).map(describeAdapter).join('; ') || 'none'}
- **Sizes: ${SIZE.label}.**${software ? ` A software adapter is ~40x slower than the CPU engine, so this run uses LR windows of ${SIZE.lr}² + halo (not 32² + halo), batches ${SIZE.batches.join(' and ')} (not 1 and 8; presets wider than 128 batch 1 only), ${SIZE.reps} timed call, a ${SIZE.viewW}x${SIZE.viewH} viewport (not 1920x1080) and ${SIZE.throughputTiles} tiles for throughput. "ms per 256² tile" scales the call time by the window's share of a tile; the goals below only mean something on a hardware GPU.` : ''}

## Parity (max |webgpu - cpu|, normalised units, batch ${SIZE.batches[0]})

| preset | per level | max | <= 1e-4 |
|---|---|---|---|
${parity.map((p) => `| ${p.preset} | ${p.levels} | ${p.max.toExponential(1)} | ${p.max <= 1e-4 ? 'yes' : '**NO**'} |`).join('\n') || '| - | no WebGPU adapter | - | - |'}

## Engine: ms per 8x tile of 256² (median of ${SIZE.reps} call(s) after a warm-up)

| preset | engine | batch | LR window | ms per call | ms per 256² tile |
|---|---|---|---|---|---|
${rows.map((r) => `| ${r.preset} | ${r.engine} | ${r.batch} | ${r.window}² | ${ms(r.callMs)} | ${ms(r.perTileMs)} |`).join('\n')}

## Through the tile server (${PRESETS.lite(8).name === 'lite' ? 'default model' : 'model'}, block 32, batch ${SIZE.batches[SIZE.batches.length - 1]}, PNG tiles at 8x of a 1024² sample)

| engine | cold ${SIZE.viewW}x${SIZE.viewH} 8x viewport | first tile | tiles/s |
|---|---|---|---|
${serverRows.map((r) => `| ${r.engine} | ${ms(r.viewportMs)} (${r.viewportTiles} tiles) | ${ms(r.firstMs)} | ${r.tilesPerS.toFixed(2)} |`).join('\n')}

## Goals (a hardware GPU)

| goal | result | met |
|---|---|---|
| cold 1920x1080 8x viewport, default model, <= ${GOALS.viewportMs} ms | ${gpuServer && !software ? ms(gpuServer.viewportMs) : 'not measured (no hardware GPU in this run)'} | ${gpuServer && !software ? (gpuServer.viewportMs <= GOALS.viewportMs ? 'yes' : 'no') : '-'} |
| paper preset <= ${GOALS.paperTileMs} ms per tile | ${paperGpu && !software ? ms(paperGpu.perTileMs) : 'not measured (no hardware GPU in this run)'} | ${paperGpu && !software ? (paperGpu.perTileMs <= GOALS.paperTileMs ? 'yes' : 'no') : '-'} |

## Notes

${notes.map((n) => `- ${n}`).join('\n')}
- The WebGPU engine runs an equivalent graph around two kernel bugs of onnxruntime-node 1.30 (docs/gpu.md).
`;
writeFileSync(OUT_MD, md);
log(`wrote ${path.relative(ROOT, OUT_MD)}`);
