// `phasesr start` (what `npm start` runs): prints `phasesr info`, makes the sample image once (cached in
// .cache/), builds the web viewer when stale, and serves both on 127.0.0.1:8080, printing the URL to open.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { DEFAULT_MODEL } from '../../models/registry';
import { intOption } from '../fail';
import { formatInfo } from './info';
import { runServe } from './serve';

const CACHE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '.cache');
const SAMPLE_SIZE = 2048;

export function startCommand(): Command {
  return new Command('start')
    .description(`demo: print info, make the ${SAMPLE_SIZE}x${SAMPLE_SIZE} sample image (once) and serve it (phasesr serve)`)
    .option('--port <n>', 'TCP port', intOption(0, 65535), 8080)
    .action(async (o: { port: number }) => {
      // Before the info, the sample and the viewer build: a taken port is reported at once.
      const { checkPortFree } = await import('../../server/port-check');
      await checkPortFree('127.0.0.1', o.port);
      const { collectInfo } = await import('./info-collect');
      const { writeSampleFile } = await import('../../models/sample/sample-file');
      process.stdout.write(`${formatInfo(await collectInfo())}\n`);
      mkdirSync(CACHE, { recursive: true });
      const sample = path.join(CACHE, `sample-${SAMPLE_SIZE}.tif`);
      if (!existsSync(sample)) {
        process.stdout.write(`making the sample image ${sample} (once)...\n`);
        await writeSampleFile(sample, { width: SAMPLE_SIZE, height: SAMPLE_SIZE, seed: 1 });
      }
      // The web viewer is bundled on first start and again whenever its sources changed (esbuild, ~1 s).
      const { buildViewer } = await import('../../viewer/build');
      await buildViewer({ log: (line) => process.stdout.write(`${line}\n`) });
      await runServe(
        [sample],
        { port: o.port, host: '127.0.0.1', model: DEFAULT_MODEL, allowDir: [], corsOrigin: [] },
        (url) =>
          `\nphasesr is serving ${path.basename(sample)} (2x/4x/8x from the model, bicubic for comparison).\n` +
          `Open ${url} in a browser. Protocol: docs/protocol.md. Ctrl-C stops.\n`,
      );
    });
}
