// `phasesr export`: a model's ONNX graph (what the serving engine runs) to a file, or a bioimage.io model
// package (format 0.5) of it for the zoo's tools (deepImageJ, ilastik, bioimageio.core).
import fs from 'node:fs/promises';
import path from 'node:path';

import { Command } from 'commander';

import pkg from '../../package.json' with { type: 'json' };
import { DEFAULT_MODEL, describeModel, resolveModel } from '../../models/registry';
import { checkInputFile, UsageError } from '../fail';

interface ExportCliOptions {
  out?: string;
  bioimageio?: string;
  model: string;
  image?: string;
  author: string[];
}

export function exportCommand(): Command {
  return new Command('export')
    .description('export a model (config + weights) to ONNX (opset 17, dynamic batch and size), or as a bioimage.io model package')
    .option('--out <file.onnx>', 'write the ONNX graph here')
    .option(
      '--bioimageio <file.zip>',
      'write a bioimage.io model package (format 0.5): yaml, ONNX weights, test tensors, cover, documentation',
    )
    .option('--model <name|path>', 'body (the default), lite, paper, or a model directory', DEFAULT_MODEL)
    .option(
      '--image <file>',
      'with --bioimageio: HR image whose centre crop makes the test input and cover (default: the synthetic sample)',
    )
    .option(
      '--author <name>',
      'with --bioimageio: an author of the model (repeatable; default "phasesr contributors")',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .addHelpText(
      'after',
      `
Examples:
  phasesr export --out lite.onnx
  phasesr export --bioimageio phasesr-lite.zip      then, elsewhere: bioimageio test phasesr-lite.zip`,
    )
    .action(async (o: ExportCliOptions) => {
      if (!o.out && !o.bioimageio) throw new UsageError('give --out FILE.onnx or --bioimageio FILE.zip');
      if (o.image) checkInputFile(o.image, '--image takes one HR image file');
      const m = await resolveModel(o.model);
      if (o.out) {
        const { exportOnnx } = await import('../../models/engine/onnx-export');
        const bytes = exportOnnx(m.config, m.weights);
        await fs.writeFile(o.out, bytes);
        process.stderr.write(`wrote ${o.out} (${(bytes.length / 1e6).toFixed(2)} MB): ${describeModel(m)}\n`);
      }
      if (o.bioimageio) {
        const { bioimageioPackage, zipPackage } = await import('../../models/bioimageio/package');
        const { files } = await bioimageioPackage(m, {
          zipName: path.basename(o.bioimageio),
          license: pkg.license,
          authors: o.author.length ? o.author : ['phasesr contributors'],
          ...(o.image ? { image: o.image } : {}),
          log: (l) => process.stderr.write(`${l}\n`),
        });
        const zip = zipPackage(files);
        // Written whole then renamed: a failed export leaves no half zip behind.
        const tmp = `${o.bioimageio}.part`;
        await fs.writeFile(tmp, zip);
        await fs.rename(tmp, o.bioimageio);
        process.stderr.write(
          `wrote ${o.bioimageio} (${(zip.length / 1e6).toFixed(2)} MB, ${[...files.keys()].join(', ')}): ${describeModel(m)}\n`,
        );
      }
    });
}
