// `phasesr calibrate`: measures a model's int8 activation ranges once, on training images, and stores
// them beside the model (int8-calibration.json), which `--engine ort-int8` then quantises with.
import path from 'node:path';
import { Command } from 'commander';
import { DEFAULT_MODEL, describeModel, resolveModel } from '../../models/registry';
import { intOption } from '../fail';

export function calibrateCommand(): Command {
  return new Command('calibrate')
    .description("measure the int8 engine's activation ranges on training images and store them with the model (int8-calibration.json)")
    .option('--model <name|path>', 'body (the default), lite, or a model directory', DEFAULT_MODEL)
    .option('--data <dir>', "the data root the split's paths are relative to", '../shared/data/phase-contrast')
    .option('--split <file>', 'split file whose train set calibrates (default: models/splits/phase-contrast.json)')
    .option('--images <n>', 'use only the first N training images', intOption(1, 100000))
    .option('--threads <n>', 'engine threads (default: all cores)', intOption(1, 256))
    .addHelpText(
      'after',
      `
Each training image gives two patches: its 8x box-mean LR (as 'phasesr eval' feeds the model) and its
native centre crop (as 'phasesr sr' and the server do). The minimum and maximum of every convolution's
input and output over all patches become the fixed uint8 scales of the int8 graph.

Example:
  phasesr calibrate --model lite && phasesr sr cells.tif out.tif --engine ort-int8 --model lite`,
    )
    .action(async (o: { model: string; data: string; split?: string; images?: number; threads?: number }) => {
      const { splitFiles, DEFAULT_SPLIT } = await import('../../models/splits/split');
      const { calibrate } = await import('../../models/engine/int8-calibration');
      const { saveCalibration } = await import('../../models/engine/int8-calibration-file');
      const log = (l: string): void => void process.stderr.write(`${l}\n`);
      const m = await resolveModel(o.model);
      log(`model: ${describeModel(m)}`);
      const files = (await splitFiles(o.split ?? DEFAULT_SPLIT, o.data, 'train')).slice(0, o.images);
      const cal = await calibrate(m.config, m.weights, m.sha256, files, { ...(o.threads ? { threads: o.threads } : {}), log });
      log(`wrote ${path.relative(process.cwd(), await saveCalibration(m.dir, cal))}`);
    });
}
