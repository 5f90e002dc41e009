// What a bioimage.io description must state about an ONNX file, read from the file itself: the default
// opset, the input and output names in graph order, and the sha256.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

// onnx-proto is CommonJS without named-export hints (see models/engine/onnx-graph.ts).
const { onnx } = createRequire(import.meta.url)('onnx-proto') as typeof import('onnx-proto');

export interface OnnxFacts {
  /** Version of the default ('ai.onnx') operator set. */
  opset: number;
  inputs: string[];
  /** Graph order: the order bioimage.io runners receive the outputs in. */
  outputs: string[];
  sha256: string;
}

export function onnxFacts(bytes: Uint8Array): OnnxFacts {
  const m = onnx.ModelProto.decode(bytes);
  const def = m.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!def) throw new Error('the ONNX model imports no default operator set');
  const initialisers = new Set(m.graph?.initializer?.map((t) => t.name) ?? []);
  return {
    opset: Number(def.version),
    inputs: (m.graph?.input ?? []).map((v) => v.name!).filter((n) => !initialisers.has(n)),
    outputs: (m.graph?.output ?? []).map((v) => v.name!),
    sha256: sha256(bytes),
  };
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
