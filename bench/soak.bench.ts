// Soak benchmark (`npm run bench:soak`): `phasesr serve` as a child process, 10 simulated viewers panning and
// zooming over its WebSocket for a few minutes (each move: a `viewport` message, then the tiles of the view it
// has not got yet, as visible), and midway a slow-reader client (asks for many float tiles and stops reading)
// and a flood client (20 new visible 8x tiles every 250 ms, cancelling the previous ones) that join and leave.
// Reports tiles served, errors, the latency of visible tiles, the server's RSS per minute and after the two
// clients left. Writes docs/benchmarks/soak.md. A benchmark: goals are reported as met or not, never asserted.
// PHASESR_SOAK_SECONDS (default 240), PHASESR_SOAK_MODEL (default lite) make shorter or other runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import WebSocket from 'ws';

import { createEngine, haloFor, resolveModel } from '../models';
import { PhasesrClient, type TileRequestInput } from '../server/client/phasesr-client';
import { SERVER_DEFAULTS } from '../server/config';
import { SUBPROTOCOL, type ImageInfo } from '../server/protocol';
import { inputImages } from './input-images';
import { quantile } from './stats';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT_MD = path.join(ROOT, 'docs', 'benchmarks', 'soak.md');
const TILE = 256;
const SECONDS = Number(process.env.PHASESR_SOAK_SECONDS ?? 240);
const MODEL = process.env.PHASESR_SOAK_MODEL ?? 'lite';
const VIEWERS = 10;
const VIEW_W = 1280;
const VIEW_H = 720;
/** A viewer moves every 3-6 s (a person pans, then looks). */
const MOVE_MS: [number, number] = [3000, 6000];
/** The slow reader and the flood client are there from 60 % to 77 % of the run; the rest is viewers alone. */
const HOSTILE_FROM = 0.6;
const HOSTILE_TO = 0.77;
const SAMPLE_MS = 5000;

const started = performance.now();
const now = () => (performance.now() - started) / 1000;
const log = (line: string) => process.stderr.write(`[${now().toFixed(0)} s] ${line}\n`);
const load0 = os.loadavg()[0]!;
const work = mkdtempSync(path.join(os.tmpdir(), 'phasesr-bench-soak-'));
let server: ChildProcess | undefined;
process.on('exit', () => {
  if (server?.exitCode === null) server.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));
/** The clients wait up to a minute for the server's hello: a loaded machine must not end the soak at a connect. */
const CONNECT = { timeoutMs: 60_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A seeded generator, so every run makes the same moves. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(x < 10 ? 1 : 0)} ms` : '-');
const met = (ok: boolean) => (ok ? 'met' : '**not met**');

function rssMiB(pid: number): number {
  const t = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(t)?.[1] ?? NaN) / 1024;
}

/** `phasesr serve --port 0 ...`; resolves with its URL once it listens. */
async function startServer(args: string[]): Promise<string> {
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin', 'phasesr.js'), 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server = proc;
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  return new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /phasesr server: (http:\/\/[^/\s]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${err}`)));
  });
}

// ---- the engine's time per block, the yardstick of the latency goal --------------------------------

/** Median time of one LR block (BLOCK + 2 halo square, batch 1) on the raw engine with the server's threads. */
async function engineMsPerBlock(): Promise<{ median: number; window: number; name: string }> {
  const model = await resolveModel(MODEL);
  const win = SERVER_DEFAULTS.blockSize + 2 * haloFor(model.config);
  // As the server's engine worker starts it (server/engine/engine-worker-main.ts): the same default engine.
  const engine = await createEngine(model.config, model.weights, { int8: model.int8, threads: os.availableParallelism(), log: () => {} });
  try {
    const input = new Float32Array(win * win);
    for (let i = 0; i < input.length; i++) input[i] = 0.5 + 0.3 * Math.sin(i * 0.013) * Math.cos(i * 0.0007);
    await engine.run(input, 1, win, win); // warm-up
    const times: number[] = [];
    for (let i = 0; i < 12; i++) {
      const t0 = performance.now();
      await engine.run(input, 1, win, win);
      times.push(performance.now() - t0);
    }
    return { median: quantile(times, 0.5), window: win, name: engine.engine };
  } finally {
    await engine.dispose();
  }
}

// ---- clients ------------------------------------------------------------------------------------

interface ViewerStats {
  latencies: number[];
  /** When each served tile was asked for (s since the soak began), in the order of `latencies`. */
  askedAt: number[];
  served: number;
  errors: Map<string, number>;
  cancelled: number;
  requested: number;
  /** When each tile still unanswered was asked for (request id -> ms). */
  pending: Map<number, number>;
  /** Ages of the tiles still unanswered when their viewer stopped. */
  unanswered: number[];
  /** Every LR block the requested model tiles need ("imageId/bx/by"): the work the viewers offered. */
  offered: Set<string>;
  /** The blocks of each viewer's opening view. */
  opening: Set<string>[];
}

/** The serving-grid LR blocks (SERVER_DEFAULTS.blockSize) a model tile needs; none for source levels. */
function blocksOf(img: ImageInfo, level: number, x: number, y: number): string[] {
  if (level <= img.nativeLevel) return [];
  const s = 2 ** (level - img.nativeLevel);
  const B = SERVER_DEFAULTS.blockSize;
  const x0 = (x * TILE) / s,
    y0 = (y * TILE) / s;
  const x1 = Math.min(img.width, ((x + 1) * TILE) / s),
    y1 = Math.min(img.height, ((y + 1) * TILE) / s);
  const out: string[] = [];
  for (let by = Math.floor(y0 / B); by < Math.ceil(y1 / B); by++)
    for (let bx = Math.floor(x0 / B); bx < Math.ceil(x1 / B); bx++) out.push(`${img.imageId}/${bx}/${by}`);
  return out;
}

/** The tile rectangle of a VIEW_W x VIEW_H view centred at (cx, cy) in level pixels. */
function viewRect(img: ImageInfo, level: number, cx: number, cy: number): [number, number, number, number] {
  const l = img.levels[level]!;
  const x0 = Math.max(0, Math.floor((cx - VIEW_W / 2) / TILE)),
    y0 = Math.max(0, Math.floor((cy - VIEW_H / 2) / TILE));
  return [
    x0,
    y0,
    Math.min(l.columns - 1, Math.floor((cx + VIEW_W / 2 - 1) / TILE)),
    Math.min(l.rows - 1, Math.floor((cy + VIEW_H / 2 - 1) / TILE)),
  ];
}

/** A viewer: starts at a random place and level, then pans a quarter view (80 %) or zooms one level (20 %). */
async function viewer(url: string, img: ImageInfo, seed: number, until: number, st: ViewerStats): Promise<void> {
  const r = rng(seed);
  const client = await PhasesrClient.connect(url, CONNECT);
  const have = new Set<string>();
  /** Tiles asked for and not answered yet: not asked again (OpenSeadragon does not re-request a loading tile). */
  const waiting = new Set<string>();
  const opening = new Set<string>();
  st.opening.push(opening);
  let level = img.nativeLevel + 1 + Math.floor(r() * (img.maxLevel - img.nativeLevel));
  let f = 2 ** (level - img.nativeLevel);
  let cx = r() * img.width * f,
    cy = r() * img.height * f;
  const readers: Promise<void>[] = [];
  let leaving = false;
  while (now() < until) {
    const [x0, y0, x1, y1] = viewRect(img, level, cx, cy);
    client.viewport(img.imageId, level, x0, y0, x1, y1);
    const reqs: TileRequestInput[] = [];
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const key = `${level}/${x}/${y}`;
        if (have.has(key) || waiting.has(key)) continue;
        waiting.add(key);
        reqs.push({ imageId: img.imageId, level, x, y, encoding: 'png', priority: 'visible' });
        for (const b of blocksOf(img, level, x, y)) {
          st.offered.add(b);
          if (readers.length === 0) opening.add(b);
        }
      }
    }
    if (reqs.length > 0) {
      const t0 = performance.now();
      st.requested += reqs.length;
      const it = client.requestTiles(reqs, (ids) => {
        for (const id of ids) st.pending.set(id + seed * 1e7, t0);
      });
      readers.push(
        (async () => {
          for await (const o of it) {
            st.pending.delete(o.id + seed * 1e7);
            waiting.delete(`${o.request.level}/${o.request.x}/${o.request.y}`);
            if (o.ok) {
              st.latencies.push(performance.now() - t0);
              st.askedAt.push((t0 - started) / 1000 - soakStart);
              st.served++;
              have.add(`${o.request.level}/${o.request.x}/${o.request.y}`);
            } else if (o.code === 'SR_ERR_CANCELLED') st.cancelled++;
            else st.errors.set(o.code, (st.errors.get(o.code) ?? 0) + 1);
          }
        })().catch((e: Error) => {
          // Our own close at the end ends the iterations of what is still unanswered (counted in `pending`).
          if (!leaving) st.errors.set(`reader: ${e.message}`, (st.errors.get(`reader: ${e.message}`) ?? 0) + 1);
        }),
      );
    }
    await sleep(MOVE_MS[0] + r() * (MOVE_MS[1] - MOVE_MS[0]));
    if (r() < 0.2) {
      const up = level < img.maxLevel && (level === img.nativeLevel || r() < 0.5);
      const nl = up ? level + 1 : level - 1;
      cx = nl > level ? cx * 2 : cx / 2;
      cy = nl > level ? cy * 2 : cy / 2;
      level = nl;
      f = 2 ** (level - img.nativeLevel);
    } else {
      cx += ((r() < 0.5 ? -1 : 1) * VIEW_W) / 4;
      cy += ((r() < 0.5 ? -1 : 1) * VIEW_H) / 4;
    }
    cx = Math.min(Math.max(cx, VIEW_W / 2), img.width * f - VIEW_W / 2);
    cy = Math.min(Math.max(cy, VIEW_H / 2), img.height * f - VIEW_H / 2);
  }
  // What is still unanswered stays in `pending` (its age counts as a wait); the close cancels it.
  const left = performance.now();
  for (const [k, t] of st.pending) if (Math.floor(k / 1e7) === seed) st.unanswered.push(left - t);
  leaving = true;
  await client.close();
  await Promise.allSettled(readers);
}

/** Asks for 2 x 150 float tiles of the native level (no inference: only bytes) and never reads them. */
async function slowReader(wsUrl: string, img: ImageInfo, leaveAt: number): Promise<{ slowErrors: number; closedByServer: boolean }> {
  const ws = new WebSocket(wsUrl, [SUBPROTOCOL]);
  let slowErrors = 0;
  let closedByServer = false;
  let leaving = false;
  ws.on('message', (d: Buffer, bin: boolean) => {
    if (!bin && /SR_ERR_SLOW_CLIENT/.test(d.toString())) slowErrors++;
  });
  ws.on('close', () => {
    if (!leaving) closedByServer = true;
  });
  await new Promise<void>((res, rej) => {
    ws.once('open', () => res());
    ws.once('error', rej);
  });
  const l = img.levels[img.nativeLevel]!;
  let id = 0;
  for (let m = 0; m < 2; m++) {
    const requests = [];
    for (let i = 0; i < 150; i++) {
      const x = (i + m * 150) % l.columns,
        y = Math.floor((i + m * 150) / l.columns) % l.rows;
      requests.push({ id: ++id, imageId: img.imageId, level: img.nativeLevel, x, y, encoding: 'f32', priority: 'visible' });
    }
    ws.send(JSON.stringify({ type: 'tiles', requests }));
  }
  await sleep(300); // the few first answers (hello, errors) arrive, then the socket stops being read
  (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  await sleep(Math.max(0, (leaveAt - now()) * 1000));
  leaving = true;
  ws.terminate();
  return { slowErrors, closedByServer };
}

/** 20 new visible 8x tiles every 250 ms at random places, cancelling the previous 20 (stays under the cap). */
async function flood(url: string, img: ImageInfo, leaveAt: number): Promise<{ sent: number; busy: number }> {
  const client = await PhasesrClient.connect(url, CONNECT);
  const r = rng(99);
  const l = img.levels[img.maxLevel]!;
  let sent = 0;
  let busy = 0;
  let last: number[] = [];
  const drains: Promise<void>[] = [];
  while (now() < leaveAt) {
    if (last.length) client.cancel(last);
    const reqs: TileRequestInput[] = [];
    for (let i = 0; i < 20; i++)
      reqs.push({
        imageId: img.imageId,
        level: img.maxLevel,
        x: Math.floor(r() * l.columns),
        y: Math.floor(r() * l.rows),
        encoding: 'png',
        priority: 'visible',
      });
    const it = client.requestTiles(reqs, (ids) => (last = ids));
    sent += reqs.length;
    drains.push(
      (async () => {
        for await (const o of it) if (!o.ok && o.code === 'SR_ERR_BUSY') busy++;
      })().catch(() => undefined),
    );
    await sleep(250);
  }
  await client.close();
  await Promise.allSettled(drains);
  return { sent, busy };
}

/** Breaks prose lines of the report past 120 characters at spaces (list items go on indented); tables stay. */
function wrapLines(text: string, width = 120): string {
  return text
    .split('\n')
    .flatMap((line) => {
      if (line.length <= width || line.startsWith('|')) return [line];
      const indent = /^(\s*)(- )?/.exec(line)!;
      const pad = ' '.repeat(indent[1]!.length + (indent[2] ? 2 : 0));
      const out: string[] = [];
      const [head, ...words] = line.slice(indent[0].length).split(' ');
      let cur = indent[0] + head;
      for (const word of words) {
        if (cur.length + 1 + word.length > width) {
          out.push(cur);
          cur = pad + word;
        } else cur = `${cur} ${word}`;
      }
      return [...out, cur];
    })
    .join('\n');
}

// ---- the run -----------------------------------------------------------------------------------

const eng = await engineMsPerBlock();
log(`engine (${MODEL}, ${os.availableParallelism()} threads): median ${eng.median.toFixed(0)} ms per ${eng.window}x${eng.window} block`);
const { files, source } = await inputImages(4, work);
const url = await startServer([...files, '--model', MODEL]);
const pid = server!.pid!;
const wsUrl = `${url.replace('http:', 'ws:')}/ws`;
const images = (await (await fetch(`${url}/api/v1/images`)).json()) as ImageInfo[];
log(`server ${url} (pid ${pid}), ${images.length} images; soak ${SECONDS} s, ${VIEWERS} viewers`);

const t0 = now();
const soakStart = t0;
const end = t0 + SECONDS;
const hostileFrom = t0 + SECONDS * HOSTILE_FROM,
  hostileTo = t0 + SECONDS * HOSTILE_TO;
const rss: { t: number; mib: number }[] = [];
const sampler = setInterval(() => rss.push({ t: now() - t0, mib: rssMiB(pid) }), SAMPLE_MS);
rss.push({ t: 0, mib: rssMiB(pid) });
const stats: ViewerStats = {
  latencies: [],
  askedAt: [],
  served: 0,
  errors: new Map(),
  cancelled: 0,
  requested: 0,
  pending: new Map(),
  unanswered: [],
  offered: new Set(),
  opening: [],
};
const viewers = Array.from({ length: VIEWERS }, (_, i) => viewer(url, images[i % images.length]!, i + 1, end, stats));
const hostile = (async () => {
  await sleep((hostileFrom - now()) * 1000);
  log('slow reader and flood client join');
  const errors0 = ((await (await fetch(`${url}/health`)).json()) as { stats: { errors: number } }).stats.errors;
  const before = rssMiB(pid);
  const peak = { mib: before };
  const watch = setInterval(() => (peak.mib = Math.max(peak.mib, rssMiB(pid))), 500);
  const [slow, fl] = await Promise.all([slowReader(wsUrl, images[0]!, hostileTo), flood(url, images[1]!, hostileTo)]);
  clearInterval(watch);
  const errors1 = ((await (await fetch(`${url}/health`)).json()) as { stats: { errors: number } }).stats.errors;
  log(`they left: RSS ${before.toFixed(0)} MiB before, peak ${peak.mib.toFixed(0)} MiB`);
  return { slow, fl, before, peak: peak.mib, serverErrors: errors1 - errors0 };
})();
await Promise.all(viewers);
const h = await hostile;
const waitingAtEnd = stats.unanswered;
clearInterval(sampler);
rss.push({ t: now() - t0, mib: rssMiB(pid) });
const health = (await (await fetch(`${url}/health`)).json()) as { engine: string; stats: Record<string, number> };
server!.kill('SIGTERM');

// ---- report ------------------------------------------------------------------------------------

const lat = stats.latencies;
const maxWait = Math.max(quantile(lat, 1), ...waitingAtEnd);
const errorCount = [...stats.errors.values()].reduce((a, b) => a + b, 0);
const minuteRows: string[] = [];
for (let m = 0; m * 60 < SECONDS; m++) {
  const inMin = rss.filter((s) => s.t > m * 60 && s.t <= (m + 1) * 60);
  if (inMin.length) minuteRows.push(`| ${m + 1} | ${inMin.at(-1)!.mib.toFixed(0)} | ${Math.max(...inMin.map((s) => s.mib)).toFixed(0)} |`);
}
const at = (t: number) => rss.reduce((best, s) => (Math.abs(s.t - t) < Math.abs(best.t - t) ? s : best)).mib;
const warm = at(60);
const beforeHostile = h.before;
const endRss = rss.at(-1)!.mib;
const growth = (beforeHostile - warm) / warm;
const cacheMiB = (SERVER_DEFAULTS.memoryCacheBytes + SERVER_DEFAULTS.floatCacheBytes) / 2 ** 20;
const goals = {
  errors: errorCount === 0,
  wait: maxWait <= 10 * eng.median,
  flat: growth <= 0.1,
  returns: endRss - beforeHostile <= cacheMiB,
};
const seconds = (x: number) => `${(x / 1000).toFixed(1)} s`;
// What the wait goal asks of this engine: the work the viewers offered, against what it can do.
const openingAll = new Set(stats.opening.flatMap((o) => [...o])).size;
const openingMax = Math.max(...stats.opening.map((o) => o.size));
const afterWarm = Math.max(...lat.filter((_, i) => stats.askedAt[i]! >= 60), ...waitingAtEnd);
const blocksRun = health.stats.blocksInferred ?? 0;
const openingMin = Math.min(...stats.opening.map((o) => o.size));
const md =
  `# Soak: ${VIEWERS} viewers, a slow reader and a flood client

\`npm run bench:soak\`${
    SECONDS !== 240 ? ` ` + `(PHASESR_SOAK_SECONDS=${SECONDS})` : ''
  }, ${new Date().toISOString().slice(0, 10)}, ${os.availableParallelism()} cores ` +
  `(load average ${load0.toFixed(1)} at start).
The whole run: ${seconds(performance.now() - started)}.

| goal | measured | target | |
|---|---|---|---|
| errors to the viewers | ${errorCount}${errorCount ? ` (${[...stats.errors].map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''} | 0 | ${met(goals.errors)} |
| longest wait for a visible tile | ${seconds(maxWait)} | <= 10 x ${ms(eng.median)} (median engine time per block) ` +
  `= ${seconds(10 * eng.median)} | ${met(goals.wait)} |
| RSS growth after warm-up (minute 1 to just before the hostile clients) | ${(growth * 100).toFixed(1)} % ` +
  `(${warm.toFixed(0)} -> ${beforeHostile.toFixed(0)} MiB) | <= 10 % | ${met(goals.flat)} |
| RSS after the slow reader and the flood client left, over before they came | ${(endRss - beforeHostile).toFixed(0)} ` +
  `MiB (${beforeHostile.toFixed(0)} -> peak ${h.peak.toFixed(0)} -> ${endRss.toFixed(0)} MiB) | <= the tile caches, ${cacheMiB} MiB | ${met(goals.returns)} |

## The work offered, against the engine

- The engine ran ${blocksRun} blocks in ${SECONDS} s (one every ${ms((SECONDS * 1000) / blocksRun)}).
  The viewers' requests needed ${stats.offered.size} distinct blocks (${seconds(stats.offered.size * eng.median)} of engine time at the median).
- The ${VIEWERS} opening views alone need ${openingAll} distinct blocks, ${seconds(openingAll * eng.median)} of engine time, all asked
  for in the first second; the largest opening view needs ${openingMax} blocks, ${seconds(openingMax * eng.median)} on an idle engine.
  Even on an idle engine, a wait of at most 10 block times can hold only for a view of at most 10 blocks;
  the opening views need ${openingMin} to ${openingMax} (a 2x tile needs 4 blocks of ${SERVER_DEFAULTS.blockSize}, a 4x tile 1, an 8x tile a quarter).
- Longest wait of a tile asked for after the first minute (or unanswered at the end): ${seconds(afterWarm)}.

## Viewers

- Visible tiles requested ${stats.requested}, served ${stats.served}, cancelled by the viewer's own moves ${stats.cancelled}
  (the \`viewport\` message drops queued tiles that left the view), unanswered at the ` +
  `end ${waitingAtEnd.length}${waitingAtEnd.length ? ` (oldest ${seconds(Math.max(...waitingAtEnd))})` : ''}.
- Latency of served visible tiles (request to frame): p50 ${ms(quantile(lat, 0.5))}, p95 ${ms(quantile(lat, 0.95))}, ` +
  `p99 ${ms(quantile(lat, 0.99))}, max ${ms(quantile(lat, 1))}.
  The longest wait above also counts tiles still unanswered at the end, by their age.
- Server counters at the end: ${Object.entries(health.stats)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}.

## Hostile clients (from ${(SECONDS * HOSTILE_FROM).toFixed(0)} s to ${(SECONDS * HOSTILE_TO).toFixed(0)} s)

- Slow reader: 2 x 150 float32 native tiles (256 KiB each, 75 MiB in all, over the 64 MiB a connection may
  leave unread), then stops reading its socket${h.slow.closedByServer ? '; the server closed the connection' : ''}.
- Flood: ${h.fl.sent} visible 8x tile requests (20 every 250 ms, each batch cancelling the one before), ${h.fl.busy} answered \`SR_ERR_BUSY\`.
- The server's error counter (coded answers to all clients, \`SR_ERR_SLOW_CLIENT\` and \`SR_ERR_BUSY\` among them)
  rose by ${h.serverErrors} while they were there.

## Server RSS per minute (MiB)

| minute | at its end | max |
|---|---|---|
${minuteRows.join('\n')}

## Setup

- Server: \`phasesr serve --port 0 --model ${MODEL}\` as a child process with its defaults (block ${SERVER_DEFAULTS.blockSize}, batch ${SERVER_DEFAULTS.batch},
  all cores, tile caches ${SERVER_DEFAULTS.memoryCacheBytes / 2 ** 20} + ${SERVER_DEFAULTS.floatCacheBytes / 2 ** 20} ` +
  `MiB), images opened at ` +
  `start: ${source}.${MODEL === 'lite' ? ' The lite model, not the default (body): the default is too slow on 2 cores for 10 viewers in a few minutes.' : ''}
- Engine: the server's default, \`${health.engine}\`. Yardstick: the raw engine (\`${eng.name}\`, same model as the ` +
  `server, ${os.availableParallelism()} threads) on ` +
  `one ${eng.window}x${eng.window} window (a ${SERVER_DEFAULTS.blockSize} px block and its halo), batch 1,
  median of 12 runs before the server started: ${ms(eng.median)}.
- Viewers: ${VIEWERS} WebSocket clients (server/client), a ${VIEW_W}x${VIEW_H} view each, on the images in turn, starting at a
  random place and SR level (seeded). Every ${MOVE_MS[0] / 1000}-${MOVE_MS[1] / 1000} s a viewer pans a quarter view (80 %) or zooms one
  level (20 %), sends \`viewport\`, and asks for the tiles of the view it has neither got nor still waits for (PNG,
  visible). It does not wait for the last view to finish, as a person panning does not.
- RSS: the server's VmRSS from /proc every ${SAMPLE_MS / 1000} s; "warm-up" is the first minute.
`;
writeFileSync(OUT_MD, wrapLines(md));
process.stdout.write(md);
log(`wrote ${path.relative(ROOT, OUT_MD)}`);
process.exit(0);
