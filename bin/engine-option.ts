// The `--engine` option of every command that runs the model (sr, serve, eval), described once.
import { Option } from 'commander';
import { DEFAULT_ENGINE, ENGINE_CHOICES } from '../models/engine/backend';

export const engineOption = (): Option =>
  new Option(
    '--engine <name>',
    `inference engine (default: ${DEFAULT_ENGINE}); ort-int8: static int8 convolutions on the CPU (needs the model's ` +
      `int8-calibration.json: phasesr calibrate); ort-webgpu: the GPU through Vulkan (docs/gpu.md); auto: ort-webgpu on a ` +
      `hardware GPU, else ort-int8 (ort-cpu for a model without a calibration)`,
  ).choices([...ENGINE_CHOICES]);
