// `phasesr init`: writes an untrained model directory (a preset's config + seeded initial weights), the
// starting point of training, labelled untrained wherever it is loaded.
import { Command, Option } from 'commander';
import { PRESETS, type PresetName } from '../../models/config';
import { intOption } from '../fail';

export function initCommand(): Command {
  return new Command('init')
    .description('write an UNTRAINED model directory: a preset config with seeded initial weights')
    .requiredOption('--out <dir>', 'model directory to create')
    .addOption(new Option('--preset <name>', 'architecture').choices(Object.keys(PRESETS)).default('lite'))
    .addOption(new Option('--scale <n>', 'upscaling factor').choices(['2', '4', '8']).default('8'))
    .option('--seed <n>', 'initialisation seed', intOption(0, 2 ** 31 - 1), 1)
    .action(async (o: { out: string; preset: PresetName; scale: string; seed: number }) => {
      const { discriminatorParams, generatorParams, initWeights } = await import('../../models/params');
      const { saveModel } = await import('../../models/weights-file');
      const config = PRESETS[o.preset](Number(o.scale) as 2 | 4 | 8);
      const weights = initWeights([...generatorParams(config), ...discriminatorParams(config)], o.seed, config.leakySlope);
      const description = `initialisation only (seed ${o.seed})${config.skip === 'bilinear' ? ': the output equals a bilinear upsample' : ''}`;
      const sha = await saveModel(o.out, config, weights, {
        trained: false,
        description,
        created: new Date().toISOString(),
        command: `phasesr init --preset ${o.preset} --scale ${o.scale} --seed ${o.seed}`,
        steps: 0,
      });
      process.stderr.write(`wrote UNTRAINED ${o.preset} ${o.scale}x model to ${o.out} (sha256 ${sha.slice(0, 12)})\n`);
    });
}
