// The images the server benchmarks serve: real 1024x1022 16-bit phase contrast images from the shared data
// when it is there, else synthetic samples written into `work`.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { writeSampleFile } from '../models';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DATA = path.resolve(process.env.PHASESR_SHARED ?? path.join(ROOT, '..', 'shared'), 'data', 'phase-contrast', 'val-tiff');

export async function inputImages(n: number, work: string): Promise<{ files: string[]; source: string }> {
  if (existsSync(DATA)) {
    const files = readdirSync(DATA)
      .filter((f) => /\.tiff?$/i.test(f))
      .sort()
      .slice(0, n)
      .map((f) => path.join(DATA, f));
    if (files.length === n) return { files, source: `${n} real 16-bit images from ${path.relative(ROOT, DATA)} (1024x1022)` };
  }
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = path.join(work, `sample-${i}.tif`);
    await writeSampleFile(f, { width: 1024, height: 1024, seed: 10 + i });
    files.push(f);
  }
  return { files, source: `${n} synthetic 16-bit samples (models/sample, 1024x1024)` };
}
