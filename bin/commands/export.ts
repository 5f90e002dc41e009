// `phasesr export`: writes a model's ONNX graph (what the serving engine runs) to a file.
import fs from 'node:fs/promises';
import { Command } from 'commander';
import { DEFAULT_MODEL, describeModel, resolveModel } from '../../models/registry';

export function exportCommand(): Command {
  return new Command('export')
    .description('export a model (config + weights) to ONNX, opset 17, dynamic batch and size')
    .requiredOption('--out <file.onnx>', 'output file')
    .option('--model <name|path>', 'lite, paper, or a model directory', DEFAULT_MODEL)
    .action(async (o: { out: string; model: string }) => {
      const { exportOnnx } = await import('../../models/engine/onnx-export');
      const m = await resolveModel(o.model);
      const bytes = exportOnnx(m.config, m.weights);
      await fs.writeFile(o.out, bytes);
      process.stderr.write(`wrote ${o.out} (${(bytes.length / 1e6).toFixed(2)} MB): ${describeModel(m)}\n`);
    });
}
