// Convolution FLOPs of one generator forward pass, for throughput figures and floors (bench/).
// Counts multiply-adds as 2 FLOPs, convolutions only (DPF bank, 3x3 blocks, 1x1 projections); layer norm,
// activations and resizes are a few FLOPs per value against hundreds per value in the convolutions.
// Checked against the exported graph (every Conv's weight size x output pixels): 62.95 GFLOP for body on 96².
import { inputChannels, levelCount, type ModelConfig } from '../config';

/** FLOPs of one 'same' convolution on an h x w map. */
export const convFlops = (k: number, cin: number, cout: number, h: number, w: number): number => 2 * k * k * cin * cout * h * w;

/** One convolution of the generator: kernel side, channels, map size, FLOPs. */
export interface ConvShape {
  k: number;
  cin: number;
  cout: number;
  h: number;
  w: number;
  flops: number;
}

/**
 * The generator's convolutions on one h x w LR patch, in graph order; `cascade`: the LR region the x2
 * modules run on when a call names the part it needs (SuperResBackend.run's `need` plus cascadeHalo).
 */
export function generatorConvs(config: ModelConfig, h: number, w: number, cascade = { h, w }): ConvShape[] {
  const convs: ConvShape[] = [];
  const add = (k: number, cin: number, cout: number, hh: number, ww: number): void => {
    convs.push({ k, cin, cout, h: hh, w: ww, flops: convFlops(k, cin, cout, hh, ww) });
  };
  if (config.dpf) add(3, 1, 12, h, w);
  let cin = inputChannels(config);
  for (let k = 0; k <= levelCount(config); k++) {
    const s = 2 ** k;
    const width = config.widths[k]!;
    const [lh, lw] = k === 0 ? [h, w] : [cascade.h, cascade.w];
    for (let j = 0; j < config.convsPerModule; j++) {
      add(3, cin, width, lh * s, lw * s);
      cin = width;
    }
    if (k === 0 && config.body) {
      for (let b = 0; b < config.body.blocks; b++) {
        add(3, width, width, h, w);
        if (config.body.mixer) add(1, width, width, h, w);
        add(3, width, width, h, w);
        if (config.body.mlp) {
          add(1, width, config.body.mlp, h, w);
          add(1, config.body.mlp, width, h, w);
        }
      }
    }
    if (k > 0) add(1, width, 1, lh * s, lw * s);
  }
  return convs;
}

/** FLOPs of the generator on one h x w LR patch (multiply by the batch size for a call); `cascade` as in generatorConvs. */
export function generatorFlops(config: ModelConfig, h: number, w: number, cascade = { h, w }): number {
  return generatorConvs(config, h, w, cascade).reduce((a, c) => a + c.flops, 0);
}
