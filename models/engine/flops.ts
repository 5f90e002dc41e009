// Convolution FLOPs of one generator forward pass, for throughput figures (bench/engine.bench.ts).
// Counts multiply-adds as 2 FLOPs, convolutions only (DPF bank, 3x3 blocks, 1x1 projections); layer norm,
// activations and resizes are a few FLOPs per value against hundreds per value in the convolutions.
import { inputChannels, levelCount, type ModelConfig } from '../config';

/** FLOPs of one 'same' convolution on an h x w map. */
export const convFlops = (k: number, cin: number, cout: number, h: number, w: number): number => 2 * k * k * cin * cout * h * w;

/** FLOPs of the generator on one h x w LR patch (multiply by the batch size for a call). */
export function generatorFlops(config: ModelConfig, h: number, w: number): number {
  let total = config.dpf ? convFlops(3, 1, 12, h, w) : 0;
  let cin = inputChannels(config);
  for (let k = 0; k <= levelCount(config); k++) {
    const s = 2 ** k;
    const width = config.widths[k]!;
    for (let j = 0; j < config.convsPerModule; j++) {
      total += convFlops(3, cin, width, h * s, w * s);
      cin = width;
    }
    if (k === 0 && config.body) {
      const perBlock = 2 * convFlops(3, width, width, h, w) + (config.body.mixer ? convFlops(1, width, width, h, w) : 0);
      total += config.body.blocks * perBlock;
    }
    if (k > 0) total += convFlops(1, width, 1, h * s, w * s);
  }
  return total;
}
