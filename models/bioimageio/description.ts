// The bioimage.io model description (format 0.5) of a phasesr model, as plain data for bioimageio.yaml.
// Every number comes from the model at export time: the halo from models/tiling.ts, opset, tensor names
// and hashes from the ONNX file, scales from the graph's output names, test files from their bytes.
import { levelCount, type ModelConfig } from '../config';
import type { Provenance } from '../weights-file';
import type { OnnxFacts } from './onnx-facts';

export const FORMAT_VERSION = '0.5.7';

/** The paper the architecture is from, and the data the shipped models are trained on (URLs checked). */
export const PAPER_CITATION = {
  text: 'Han, L. and Yin, Z. Cascaded Refinement GAN for Phase Contrast Microscopy Image Super Resolution. MICCAI 2018.',
  doi: '10.1007/978-3-030-00934-2_39',
  url: 'https://link.springer.com/chapter/10.1007/978-3-030-00934-2_39',
};
export const USIIGACI_CITATION = {
  text:
    'Tsai, H.-F. et al. Usiigaci: Instance-aware cell tracking in stain-free phase contrast microscopy enabled by ' +
    'machine learning. SoftwareX, 2019. (training data)',
  doi: '10.1016/j.softx.2019.02.007',
  url: 'https://github.com/oist/usiigaci',
};

export interface FileRef {
  source: string;
  sha256: string;
}

export interface DescriptionInput {
  config: ModelConfig;
  provenance: Provenance;
  /** phasesr's model hash (weights blob). */
  modelSha256: string;
  onnx: OnnxFacts & { source: string };
  /** LR halo (models/tiling.ts haloFor) and receptive radius, in input pixels. */
  halo: number;
  receptiveRadius: number;
  /** Valid input y/x sizes: min + n * step. */
  size: { min: number; step: number };
  /** Normalisation percentiles (phasesr's 0.1 / 99.9). */
  percentiles: [number, number];
  /** scale_range's eps (the spec's default). */
  eps: number;
  testInput: FileRef;
  /** By ONNX output name. */
  testOutputs: Record<string, FileRef>;
  cover: string;
  documentation: string;
  authors: { name: string }[];
  license: string;
  parameterCount: number;
}

/** Scale of an output named y<s> (the ONNX export's naming: y2, y4, y8). */
export function outputScale(name: string): number {
  const m = /^y(\d+)$/.exec(name);
  if (!m) throw new Error(`ONNX output '${name}' is not named y<scale>`);
  return Number(m[1]);
}

/** Whether the model was trained on the Usiigaci phase contrast set (../shared/data/phase-contrast). */
export function trainedOnUsiigaci(p: Provenance): boolean {
  return p.trained && /phase-contrast/.test(`${p.data ?? ''} ${p.command ?? ''}`);
}

export function modelDescription(d: DescriptionInput): Record<string, unknown> {
  const c = d.config;
  if (d.onnx.inputs.length !== 1) throw new Error(`expected one ONNX input, got ${d.onnx.inputs.join(', ')}`);
  const input = d.onnx.inputs[0]!;
  const channel = { type: 'channel', channel_names: ['phase_contrast'] };
  const usiigaci = trainedOnUsiigaci(d.provenance);
  return {
    format_version: FORMAT_VERSION,
    type: 'model',
    name: `phasesr ${c.name} ${c.scale}x phase contrast super-resolution (CRGAN)`,
    description:
      `Super-resolution of phase contrast microscopy images, ${c.scale}x (with the cascade's ${outputsText(d.onnx.outputs)} outputs): ` +
      `the Cascaded Refinement GAN generator of Han & Yin (MICCAI 2018), preset '${c.name}', exported by phasesr.`,
    authors: d.authors,
    cite: usiigaci ? [PAPER_CITATION, USIIGACI_CITATION] : [PAPER_CITATION],
    license: d.license,
    tags: ['super-resolution', 'phase-contrast', 'microscopy', '2d', 'gan', 'crgan', 'cells', 'onnx', 'phasesr'],
    covers: [d.cover],
    documentation: d.documentation,
    timestamp: d.provenance.created,
    inputs: [
      {
        id: input,
        description: 'one grey phase contrast image (any intensity range: scale_range maps its 0.1/99.9 percentiles to 0/1)',
        axes: [
          { type: 'batch' },
          channel,
          ...(['y', 'x'] as const).map((id) => ({ id, type: 'space', size: { min: d.size.min, step: d.size.step } })),
        ],
        test_tensor: d.testInput,
        data: { type: 'float32' },
        preprocessing: [
          {
            id: 'scale_range',
            kwargs: { axes: ['y', 'x'], min_percentile: d.percentiles[0], max_percentile: d.percentiles[1], eps: d.eps },
          },
        ],
      },
    ],
    outputs: d.onnx.outputs.map((name) => {
      const s = outputScale(name);
      const file = d.testOutputs[name];
      if (!file) throw new Error(`no test output for ONNX output ${name}`);
      return {
        id: name,
        description: `${s}x super-resolved image in normalised units (0 and 1 = the input's ${d.percentiles[0]} and ${d.percentiles[1]} percentiles)`,
        axes: [
          { type: 'batch' },
          channel,
          // size = input size * 1 / (1/s); the halo is in output pixels: halo * s = the input's halo.
          ...(['y', 'x'] as const).map((id) => ({
            id,
            type: 'space',
            size: { tensor_id: input, axis_id: id },
            scale: 1 / s,
            halo: d.halo * s,
          })),
        ],
        test_tensor: file,
        data: { type: 'float32' },
      };
    }),
    weights: {
      onnx: {
        source: d.onnx.source,
        sha256: d.onnx.sha256,
        opset_version: d.onnx.opset,
        comment: `phasesr model '${c.name}' (weights sha256 ${d.modelSha256}), exported by phasesr export --bioimageio`,
      },
    },
    config: {
      bioimageio: {
        architecture_type: 'CRGAN generator',
        architecture_description:
          `${levelCount(c)} cascaded x2 refinement modules (widths ${c.widths.join('/')}, ${c.convsPerModule} convs each)` +
          `${c.dpf ? ', 12 Diffraction Pattern Filter inputs' : ''}, ${c.skip} skip`,
        modality: 'phase contrast microscopy',
        task: 'super-resolution',
        model_parameter_count: d.parameterCount,
      },
      phasesr: {
        model: c.name,
        weights_sha256: d.modelSha256,
        trained: d.provenance.trained,
        receptive_radius_lr_px: d.receptiveRadius,
        halo_lr_px: d.halo,
        training: d.provenance.description,
      },
    },
  };
}

function outputsText(outputs: string[]): string {
  return outputs.map((o) => `${outputScale(o)}x`).join('/');
}
