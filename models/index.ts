// Public API of models/: what the CLI, the server and scripts may import. Internals stay unexported here.
export { PRESETS, parseConfig, levelCount, type ModelConfig, type PresetName, type Scale } from './config';
export { dpfKernel, dpfBankHWIO, dpfRadiusForLevel, DPF_OPTICS } from './dpf/dpf';
export { generatorParams, discriminatorParams, initWeights, type Weights } from './params';
export { loadModel, saveModel, ModelFileError, type LoadedModel } from './weights-file';
export { resolveModel, describeModel, DEFAULT_MODEL } from './registry';
export {
  DEFAULT_ENGINE,
  ENGINE_CHOICES,
  type EngineChoice,
  type EngineName,
  type LevelBatch,
  type SuperResBackend,
} from './engine/backend';
export { createEngine } from './engine/create-engine';
export { describeAdapter, probeGpuAdapters, type AdapterProbe, type GpuAdapter } from './engine/gpu-adapter';
export { exportOnnx } from './engine/onnx-export';
export { haloFor, planTiles, receptiveRadius, type Rect, type TilePlan } from './tiling';
export { superResolve, type RegionReader, type OutputBand } from './pipeline/super-resolve';
export { runSr, NORMALISATION_PERCENTILES, type RunSrOptions } from './pipeline/run-sr';
export { ImageSource } from './io/image-source';
export { TiffWriter } from './io/tiff-writer';
export { writeImage } from './io/write-image';
export { imagePercentiles } from './io/percentiles';
export { makeSample } from './sample/sample';
export { writeSampleFile } from './sample/sample-file';
