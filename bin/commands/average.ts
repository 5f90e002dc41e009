// `phasesr average`: writes the uniform average of several trained models of one architecture (a model
// soup) as a new model directory, its provenance naming each model averaged.
import { Command } from 'commander';

export function averageCommand(): Command {
  return new Command('average')
    .description("average the weights of two or more trained models of one architecture into a new model (a 'model soup')")
    .argument('<models...>', 'model directories (or body, lite), at least two')
    .requiredOption('--out <dir>', 'model directory to create')
    .addHelpText(
      'after',
      `
Models fine-tuned from one start (snapshots of one run, or runs from one set of weights) usually average
into a model that scores at least as well as the best of them; models trained apart usually do not, so
evaluate the average ('phasesr eval') before using it. The average has no int8 calibration: run
'phasesr calibrate --model <out>' for the int8 engine.

Example:
  phasesr average runs/a/best runs/b/best --out runs/soup && phasesr eval --model runs/soup --set val`,
    )
    .action(async (specs: string[], o: { out: string }) => {
      const { resolveModel } = await import('../../models/registry');
      const { averageModels } = await import('../../models/train/average-models');
      const { saveModel } = await import('../../models/weights-file');
      const models = await Promise.all(specs.map((s) => resolveModel(s)));
      const { config, weights, provenance } = averageModels(models);
      const sha = await saveModel(o.out, config, weights, { ...provenance, command: `phasesr average ${specs.join(' ')} --out ${o.out}` });
      process.stderr.write(`wrote the average of ${models.length} models to ${o.out} (sha256 ${sha.slice(0, 12)})\n`);
    });
}
