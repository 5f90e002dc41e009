// `phasesr info`: versions, engine, threads, optional accelerators found or not, and the shipped models.
import { Command } from 'commander';
import type { Info } from './info-collect';

export function infoCommand(): Command {
  return new Command('info')
    .description('print versions, the inference engine, threads, accelerators found, and the shipped models')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const { collectInfo } = await import('./info-collect');
      const info = await collectInfo();
      if (o.json) process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
      else process.stdout.write(formatInfo(info));
    });
}

const CPU_NOTE = ' (ort-cpu for a model without an int8 calibration)';

export function formatInfo(i: Info): string {
  const lines = [
    `phasesr ${i.phasesr} (node ${i.node}, ${i.platform})`,
    `cpu: ${i.cpu.model}, ${i.cpu.cores} cores`,
    `engine: ${i.engine.default} (default): ${i.engine.auto} here for the default model${i.engine.auto === 'ort-int8' ? CPU_NOTE : ''}, ` +
      `${i.engine.threads} intra-op threads`,
    `versions: onnxruntime-node ${i.versions.onnxruntime}, tfjs ${i.versions.tfjs}, sharp ${i.versions.sharp} (libvips ${i.versions.libvips})`,
    'accelerators:',
    ...Object.entries(i.accelerators).map(([k, v]) => `  ${k}: ${v}`),
    'models:',
    ...i.models.map((m) => `  ${m.name}: ${m.summary}${m.auto ? ` [auto: ${m.auto}]` : ''}`),
  ];
  if (i.models.some((m) => !m.trained)) {
    lines.push(
      '',
      'NOTE: an UNTRAINED model (an initialisation, `phasesr init`) gives bilinear output, not super-resolution; train one with `phasesr train`.',
    );
  }
  return `${lines.join('\n')}\n`;
}
