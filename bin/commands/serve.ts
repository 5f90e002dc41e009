// `phasesr serve`: the local tile server (WebSocket deep-zoom tiles, REST, uploads) for the viewer and clients.
import { Command, Option } from 'commander';
import type { EngineChoice } from '../../models/engine/backend';
import { engineOption } from '../engine-option';
import { DEFAULT_MODEL } from '../../models/registry';
import { BLOCK_SIZES } from '../../server/config';
import { checkInputFile, hostOption, intOption } from '../fail';

export interface ServeCliOptions {
  port: number;
  host: string;
  model: string;
  cacheDir?: string;
  allowDir: string[];
  exchangeDir?: string;
  corsOrigin: string[];
  engine?: EngineChoice;
  threads?: number;
  token?: string;
  batch?: number;
  block?: string;
  firstBlock?: string;
  mergeBlocks?: number;
  redis?: string;
  sharedDir?: string;
  /** commander's --no-local-engine: false when given. */
  localEngine?: boolean;
  lockMs?: number;
  workerWaitMs?: number;
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('serve images as deep-zoom tiles (source levels + 2x/4x/8x from the model) over WebSocket and REST')
    .argument('[images...]', 'image files to open at start (any folder)')
    .option('--port <n>', 'TCP port (0: any free port)', intOption(0, 65535), 8080)
    .option(
      '--host <addr>',
      'address to bind (no port: that is --port); anything but loopback requires the printed token',
      hostOption,
      '127.0.0.1',
    )
    .option('--model <name|path>', 'body (the default), lite, paper, or a model directory', DEFAULT_MODEL)
    .option('--cache-dir <dir>', 'also keep computed tiles on disk here (keyed by image and model hash)')
    .option(
      '--allow-dir <dir>',
      'a folder whose images clients may open by path (repeatable; the exchange folder is always allowed)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      '--exchange-dir <dir>',
      'the private folder (yours alone: created 0700) where the Fiji bridge puts images to open by path (default: a ' +
        'fresh one in the OS temp folder, removed at exit)',
    )
    .option(
      '--cors-origin <origin>',
      'a web origin (e.g. https://hms-dbmi.github.io for vizarr) whose pages may read the OME-Zarr view /zarr/ (repeatable; none by default)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .addOption(engineOption())
    .option('--threads <n>', 'engine threads (default: all cores)', intOption(1, 256))
    .option('--token <t>', 'access token (default: generated when --host is not loopback)')
    .option(
      '--batch <n>',
      'most LR blocks per engine call (default 1: batching costs memory and did not speed up the CPU engine, nor a GPU through the server: docs/gpu.md)',
      intOption(1, 64),
    )
    .addOption(
      new Option(
        '--block <px>',
        'LR pixels per inference block side (default 64; smaller: first tiles sooner, less memory; larger: less halo overhead)',
      ).choices(BLOCK_SIZES.map(String)),
    )
    .addOption(
      new Option(
        '--first-block <px>',
        'LR block side for the first tile of a cold view (default 32; 0: off): it arrives about 2x sooner; the rest of its block still runs whole',
      ).choices(['0', ...BLOCK_SIZES.map(String)]),
    )
    .option(
      '--merge-blocks <n>',
      'most queued adjacent blocks run as one engine call, their halos computed once (default 12; 1: off; more blocks: more memory)',
      intOption(1, 64),
    )
    .option(
      '--redis <url>',
      'share block work and tiles with other servers and `phasesr worker`s through this Redis (redis://[:password@]host:port); needs --shared-dir',
    )
    .option(
      '--shared-dir <dir>',
      'with --redis: a folder every server and worker sees (images, uploads, percentiles, the shared tile cache)',
    )
    .option('--no-local-engine', 'with --redis: run no model here, leave all blocks to the workers (a pure front end)')
    .option(
      '--lock-ms <n>',
      'with --redis: a job whose worker went silent this long goes to another worker (default 30000)',
      intOption(1000),
    )
    .option(
      '--worker-wait-ms <n>',
      'with --redis: while no worker is alive, tile and batch requests wait this long, then fail with SR_ERR_NO_WORKER (default 10000)',
      intOption(0),
    )
    .addHelpText(
      'after',
      `
Example:
  phasesr serve cells.tif --allow-dir ~/data
  then open the printed URL; protocol: docs/protocol.md
  Several servers and workers: docs/deploy.md`,
    )
    .action(async (images: string[], o: ServeCliOptions) => {
      await runServe(images, o);
    });
}

/** Starts the server and keeps it running until SIGINT/SIGTERM (shared with `phasesr start`). */
export async function runServe(images: string[], o: ServeCliOptions, banner?: (url: string) => string): Promise<void> {
  for (const file of images)
    checkInputFile(file, 'serve opens image files; open others from the viewer, or allow a folder with --allow-dir DIR');
  const { PhasesrServer } = await import('../../server');
  const server = await PhasesrServer.create({
    port: o.port,
    host: o.host,
    model: o.model,
    allowDirs: o.allowDir,
    corsOrigins: o.corsOrigin,
    images,
    ...(o.exchangeDir ? { exchangeDir: o.exchangeDir } : {}),
    ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
    ...(o.engine ? { engine: o.engine } : {}),
    ...(o.threads ? { threads: o.threads } : {}),
    ...(o.token !== undefined ? { token: o.token } : {}),
    ...(o.batch ? { batch: o.batch } : {}),
    ...(o.block ? { blockSize: Number(o.block) } : {}),
    ...(o.firstBlock !== undefined ? { firstBlockSize: Number(o.firstBlock) } : {}),
    ...(o.mergeBlocks ? { mergeBlocks: o.mergeBlocks } : {}),
    ...(o.redis ? { redis: o.redis } : {}),
    ...(o.sharedDir ? { sharedDir: o.sharedDir } : {}),
    ...(o.localEngine === false ? { localEngine: false } : {}),
    ...(o.lockMs ? { lockMs: o.lockMs } : {}),
    ...(o.workerWaitMs !== undefined ? { workerWaitMs: o.workerWaitMs } : {}),
  });
  // The handlers go in before the banner: a supervisor (or a test) that signals as soon as it reads the URL
  // must get a clean stop, not Node's default kill (seen once in CI on a loaded machine: exit by signal, no code).
  const stop = (sig: NodeJS.Signals) => {
    process.stderr.write(`${sig}: stopping\n`);
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop).once('SIGTERM', stop);
  await server.listen();
  process.stdout.write(
    banner ? banner(server.viewerUrl) : `phasesr server: ${server.viewerUrl}${server.scale ? ` (role ${server.role})` : ''}\n`,
  );
  if (server.token) process.stdout.write(`token required (bound to ${o.host}): ${server.token}\n`);
}
