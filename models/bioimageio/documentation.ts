// The package's documentation (README.md): what the model does, how to tile it, its "# Validation"
// section taken from the model card beside the weights, and how to validate the package with the
// bioimage.io tools.
import type { ModelConfig } from '../config';
import type { Provenance } from '../weights-file';

export interface DocumentationInput {
  config: ModelConfig;
  provenance: Provenance;
  /** The model card (README.md beside model.json), when there is one. */
  card?: string;
  halo: number;
  size: { min: number; step: number };
  outputs: string[];
  percentiles: [number, number];
  zipName: string;
}

/** The body of the card's validation-results section (its first '## ...Results...' or '## ...Validation...'), image lines dropped. */
export function validationSection(card: string): string | undefined {
  const lines = card.split('\n');
  const start = lines.findIndex((l) => /^##\s+.*(results|validation)/i.test(l));
  if (start < 0) return undefined;
  const end = lines.findIndex((l, i) => i > start && /^##?\s/.test(l));
  // Images point into the phasesr repository; they and the paragraph introducing them (ending in ':') go.
  const paragraphs = lines
    .slice(start + 1, end < 0 ? undefined : end)
    .join('\n')
    .split(/\n\s*\n/);
  return paragraphs
    .filter((p, i) => !/^!\[/.test(p.trim()) && !(p.trim().endsWith(':') && /^!\[/.test(paragraphs[i + 1]?.trim() ?? '')))
    .join('\n\n')
    .trim();
}

export function documentation(d: DocumentationInput): string {
  const c = d.config;
  const validation = d.card ? validationSection(d.card) : undefined;
  return (
    `# phasesr \`${c.name}\` ${c.scale}x: phase contrast super-resolution

The generator of the Cascaded Refinement GAN (Han & Yin, MICCAI 2018) as trained by phasesr: one grey phase
contrast image in, super-resolved images out (${d.outputs.join(', ')}: the cascade's ${d.outputs.map((o) => `${o.slice(1)}x`).join(', ')}
levels, all from one run). Weights: ONNX ` +
    `(\`weights.onnx\`). ${d.provenance.trained ? '' : '**These weights are not trained** (a random initialisation). '}Training: ${d.provenance.description}.

## Input and output

- Input \`lr\`: batch, channel (1), y, x; y and x any of ${d.size.min} + n * ${d.size.step} pixels (the network itself
  accepts any size; the sizes offered keep a tile's core a multiple of ${d.size.step}).
- Preprocessing: \`scale_range\` over y and x with the ${d.percentiles[0]} / ${d.percentiles[1]} percentiles, as phasesr
  maps every image. phasesr computes these once for the whole image, never per tile: when you tile a large
  image, give the tiler the whole image's percentiles if it can, or tiles will differ in brightness.
- Outputs: each at scale 1/s of the input in the spec's terms (\`scale: ${d.outputs.map((o) => `1/${o.slice(1)}`).join(', ')}\`), size = input size x s,
  in normalised units (0 and 1 are the input's percentiles). There is no postprocessing: the spec has no step
  that maps back through the input's own percentiles (phasesr does that itself, \`low + v (high - low)\`).
- Halo: the receptive field reaches ${d.halo} input pixels (models/tiling.ts: receptive radius + 1), so each
  output declares a halo of ${d.halo} x s output pixels; a tiler crops it and overlaps tiles by it, and the tiled
  result then equals whole-image inference.

# Validation

${validation ?? `No model card was found beside the weights. Training record: ${d.provenance.description}.`}

## Validating this package

The bioimage.io Python tools could not be installed where this package was made, so the following was **not
run** there. Elsewhere, with Python 3.9 or newer:

\`\`\`sh
pip install bioimageio.core onnxruntime
bioimageio test ${d.zipName}
\`\`\`

What phasesr's own tests check instead: the yaml validates against the bioimage.io JSON Schema (format 0.5),
onnxruntime reproduces each test output from the test input within the spec's default tolerances
(relative 1e-3, absolute 1e-3, at most 100 mismatched elements per million), and every sha256 in the yaml
matches its file in the zip.
`
  );
}
