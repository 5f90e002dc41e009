// Data splits: which images of a data folder train, which pick checkpoints (val) and which only report
// (test). A split file lists paths relative to the data folder, so the same file serves any checkout.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { EvalDataError } from '../eval/pairs';

export const SPLIT_SETS = ['train', 'val', 'test'] as const;
export type SplitSet = (typeof SPLIT_SETS)[number];

/** The split of ../shared/data/phase-contrast that the shipped models were trained and tested on. */
export const DEFAULT_SPLIT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'phase-contrast.json');

const SplitSchema = z.object({
  description: z.string(),
  train: z.array(z.string()).min(1),
  val: z.array(z.string()).min(1),
  test: z.array(z.string()).min(1),
});

/** The files of one set of a split, resolved against `dataRoot`; a coded error when the file is malformed or the sets overlap. */
export async function splitFiles(splitFile: string, dataRoot: string, set: SplitSet): Promise<string[]> {
  const text = await readFile(splitFile, 'utf8').catch(() => {
    throw new EvalDataError(`split file not found: ${splitFile}`);
  });
  const r = SplitSchema.safeParse(JSON.parse(text));
  if (!r.success) throw new EvalDataError(`${splitFile} is not a split file: ${r.error.issues.map((i) => i.message).join('; ')}`);
  const seen = new Map<string, SplitSet>();
  for (const s of SPLIT_SETS) {
    for (const f of r.data[s]) {
      const other = seen.get(f);
      if (other) throw new EvalDataError(`${splitFile}: ${f} is in both ${other} and ${s}`);
      seen.set(f, s);
    }
  }
  return r.data[set].map((f) => path.join(dataRoot, f));
}
