// `phasesr sr IN OUT`: super-resolves one image file of any size, streaming it through tiles.
import path from 'node:path';
import { Command, Option } from 'commander';
import type { EngineChoice } from '../../models/engine/backend';
import { engineOption } from '../engine-option';
import { DEFAULT_MODEL } from '../../models/registry';
import { checkInputFile, intOption, positiveNumber, UsageError } from '../fail';
import { progressBar } from '../progress';
import { CodedError } from '../../models/error-codes';

export function srCommand(): Command {
  return new Command('sr')
    .description('super-resolve an image (TIFF 8/16-bit or float32, PNG, JPEG) by 2, 4 or 8')
    .argument('<in>', 'input image')
    .argument('<out>', 'output image: .tif/.tiff (any dtype, streamed) or .png (8/16-bit)')
    .addOption(new Option('--scale <n>', 'upscaling factor (an output level of the cascade)').choices(['2', '4', '8']).default('8'))
    .option('--model <name|path>', 'body (the default), lite, paper, or a model directory', DEFAULT_MODEL)
    .option('--tile <n>', 'tile side in input pixels (the halo is added around it)', intOption(8, 16384), 64)
    .option('--batch <n>', 'tiles per engine call (more: faster, more memory)', intOption(1, 64), 4)
    .option('--pixel-size <um>', 'input pixel size in µm, when the file does not say it (or to override it)', positiveNumber)
    .option('--float32', "write raw float32 model output (in the input's intensity units, unclipped)")
    .addOption(engineOption())
    .option('--threads <n>', 'engine threads (default: all cores)', intOption(1, 256))
    .option('-q, --quiet', 'no progress bar')
    .addHelpText(
      'after',
      `
Intensities are mapped through the input's 0.1/99.9 percentiles (computed once for the whole image, never
per tile) and back, so the output has the input's dtype and range. Pixel size (ImageJ, OME or TIFF
resolution metadata) is written back divided by the scale. The output appears only when complete.

Example:
  phasesr sr cells.tif cells-x8.tif --scale 8`,
    )
    .action(
      async (
        input: string,
        output: string,
        o: {
          scale: string;
          model: string;
          tile: number;
          batch: number;
          float32?: boolean;
          engine?: EngineChoice;
          threads?: number;
          quiet?: boolean;
          pixelSize?: number;
        },
      ) => {
        checkInputFile(
          input,
          'phasesr sr takes one image file; for many, start phasesr serve and use phasesr batch FOLDER/*.tif --out DIR',
        );
        if (path.resolve(input) === path.resolve(output)) throw new UsageError('the output must not overwrite the input');
        // Loaded here, not at start-up: `--help` should not wait for the engines to load.
        const { runSr } = await import('../../models/pipeline/run-sr');
        const bar = o.quiet ? undefined : progressBar('tiles');
        // Ctrl-C or a kill stops between engine calls, so the partial output and temp files get removed.
        const stop = new AbortController();
        const onSignal = (sig: NodeJS.Signals) =>
          stop.abort(new CodedError('SR_ERR_INTERRUPTED', `interrupted by ${sig}; no output written`));
        process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
        try {
          const r = await runSr({
            input,
            output,
            scale: Number(o.scale) as 2 | 4 | 8,
            model: o.model,
            tile: o.tile,
            float32: !!o.float32,
            batch: o.batch,
            ...(o.engine ? { engine: o.engine } : {}),
            ...(o.pixelSize ? { pixelSizeUm: o.pixelSize } : {}),
            ...(o.threads ? { threads: o.threads } : {}),
            log: (l) => {
              bar?.interrupt(l) ?? process.stderr.write(`${l}\n`);
            },
            onProgress: (d, t) => bar?.update(d, t),
            signal: stop.signal,
          });
          bar?.stop();
          process.stderr.write(
            `wrote ${output}: ${r.width}x${r.height} ${r.dtype}` +
              `${r.pixelSize ? `, pixel size ${r.pixelSize.x.toPrecision(4)} ${r.pixelSize.unit}` : ''} in ${(r.ms / 1000).toFixed(1)} s\n`,
          );
        } finally {
          bar?.stop();
        }
      },
    );
}
