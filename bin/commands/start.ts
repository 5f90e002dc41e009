// `phasesr start` (what `npm start` runs). Until the tile server lands, it prints `phasesr info`, makes
// the sample image (once, cached in .cache/) and super-resolves it 8x with the shipped model.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { formatInfo } from './info';

const CACHE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '.cache');

export function startCommand(): Command {
  return new Command('start')
    .description('demo: print info, make the sample image and super-resolve it 8x (the viewer server comes later)')
    .action(async () => {
      const { collectInfo } = await import('./info-collect');
      const { runSr } = await import('../../models/pipeline/run-sr');
      const { writeSampleFile } = await import('../../models/sample/sample-file');
      process.stdout.write(`${formatInfo(await collectInfo())}\n`);
      mkdirSync(CACHE, { recursive: true });
      const sample = path.join(CACHE, 'sample-512.tif');
      if (!existsSync(sample)) await writeSampleFile(sample, { width: 512, height: 512, seed: 1 });
      const out = path.join(CACHE, 'sample-512-x8.tif');
      const r = await runSr({ input: sample, output: out, scale: 8 });
      process.stdout.write(`super-resolved ${sample} -> ${out} (${r.width}x${r.height} ${r.dtype}) in ${(r.ms / 1000).toFixed(1)} s\n` +
        'The tile server and the web viewer are not built yet: open the output in Fiji/ImageJ.\n');
    });
}
