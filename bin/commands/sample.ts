// `phasesr sample`: the synthetic wide-view phase contrast image that ships with phasesr, made with the
// imaging model itself (cells as phase objects imaged through the phase contrast PSF, plus camera noise).
import { Command, InvalidArgumentError } from 'commander';
import { intOption } from '../fail';

export function parseSize(v: string): { width: number; height: number } {
  const m = /^(\d+)[x×X*](\d+)$/.exec(v.trim());
  const width = Number(m?.[1]);
  const height = Number(m?.[2]);
  if (!m || width < 8 || height < 8 || width > 65536 || height > 65536) {
    throw new InvalidArgumentError('expected WIDTHxHEIGHT, each 8..65536, e.g. 2048x2048.');
  }
  return { width, height };
}

export function sampleCommand(): Command {
  return new Command('sample')
    .description('write the synthetic phase contrast sample image (16-bit, pixel size 0.87 µm)')
    .requiredOption('--out <file>', 'output .tif/.tiff or .png')
    .option('--size <WxH>', 'image size', parseSize, { width: 2048, height: 2048 })
    .option('--seed <n>', 'random seed (same seed, same image)', intOption(0, 2 ** 31 - 1), 1)
    .action(async (o: { out: string; size: { width: number; height: number }; seed: number }) => {
      const { writeSampleFile } = await import('../../models/sample/sample-file');
      const s = await writeSampleFile(o.out, { ...o.size, seed: o.seed });
      process.stderr.write(`wrote ${o.out}: ${s.width}x${s.height} uint16, ${s.pixelSizeUm} µm/pixel, seed ${o.seed}\n`);
    });
}
