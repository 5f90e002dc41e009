// A tiny ONNX graph builder over the protobufjs-generated `onnx-proto` classes: float32 initializers,
// nodes with typed attributes, and serialisation of the finished ModelProto.
import { createRequire } from 'node:module';
import type { onnx as O } from 'onnx-proto';

// onnx-proto is CommonJS without named-export hints, so Node's ESM loader cannot `import { onnx }` from it.
const { onnx } = createRequire(import.meta.url)('onnx-proto') as typeof import('onnx-proto');

export type Attr = { f: number } | { i: number } | { s: string } | { ints: number[] } | { floats: number[] };
/** A dimension of a graph input/output: a fixed size or a symbolic name. */
export type Dim = number | string;

const AT = onnx.AttributeProto.AttributeType;

function attribute(name: string, a: Attr): O.IAttributeProto {
  if ('f' in a) return { name, type: AT.FLOAT, f: a.f };
  if ('i' in a) return { name, type: AT.INT, i: a.i };
  if ('s' in a) return { name, type: AT.STRING, s: new TextEncoder().encode(a.s) };
  if ('ints' in a) return { name, type: AT.INTS, ints: a.ints };
  return { name, type: AT.FLOATS, floats: a.floats };
}

/** A graph input or output: its name, its dimensions and (default float32) its element type. */
export type GraphValue = [name: string, dims: Dim[], type?: 'int64'];

function valueInfo([name, dims, type]: GraphValue): O.IValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  const T = onnx.TensorProto.DataType;
  return { name, type: { tensorType: { elemType: type === 'int64' ? T.INT64 : T.FLOAT, shape: { dim } } } };
}

export class GraphBuilder {
  readonly #nodes: O.INodeProto[] = [];
  readonly #inits: O.ITensorProto[] = [];
  #count = 0;

  /** Adds a float32 constant; raw little-endian bytes (ONNX's raw_data order, and x86/arm's). */
  init(name: string, dims: number[], data: Float32Array): string {
    const n = dims.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new Error(`initializer ${name}: shape [${dims}] needs ${n} values, got ${data.length}`);
    const rawData = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.#inits.push({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData });
    return name;
  }

  /** Adds an int8/uint8/int32 constant (the quantised graph's weights, zero points and biases). */
  initInt(name: string, dims: number[], data: Int8Array | Uint8Array | Int32Array): string {
    const n = dims.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new Error(`initializer ${name}: shape [${dims}] needs ${n} values, got ${data.length}`);
    const T = onnx.TensorProto.DataType;
    const dataType = data instanceof Int8Array ? T.INT8 : data instanceof Uint8Array ? T.UINT8 : T.INT32;
    const rawData = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.#inits.push({ name, dims, dataType, rawData });
    return name;
  }

  /** Adds an int64 constant (shape inputs such as Pad's pads). */
  initInt64(name: string, values: number[]): string {
    this.#inits.push({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: values });
    return name;
  }

  /** A float32 constant added with init(), or undefined. */
  float(name: string): { dims: number[]; data: Float32Array } | undefined {
    const t = this.#inits.find((i) => i.name === name && i.dataType === onnx.TensorProto.DataType.FLOAT);
    if (!t?.rawData) return undefined;
    const raw = t.rawData;
    return { dims: (t.dims ?? []).map(Number), data: new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)) };
  }

  /**
   * Rewrites the graph node by node, in order: `fn` may add nodes with node() (they take the visited node's
   * place, before it), add nodes after it through `after` (e.g. consumers of its output), edit the node in
   * place, and return 'drop' to remove it.
   */
  rewrite(fn: (node: O.INodeProto, after: (add: () => void) => void) => 'keep' | 'drop'): void {
    const old = this.#nodes.splice(0);
    const out: O.INodeProto[] = [];
    for (const n of old) {
      let then: (() => void) | undefined;
      const verdict = fn(n, (add) => (then = add));
      out.push(...this.#nodes.splice(0));
      if (verdict === 'keep') out.push(n);
      if (then) {
        then();
        out.push(...this.#nodes.splice(0));
      }
    }
    this.#nodes.push(...out);
    // Constants the rewrite replaced (ORT would warn about each unused one).
    const used = new Set(out.flatMap((n) => n.input ?? []));
    const kept = this.#inits.filter((i) => used.has(i.name!));
    this.#inits.splice(0, this.#inits.length, ...kept);
  }

  /** The graph's nodes so far, in order (read-only use: calibration taps). */
  nodes(): readonly O.INodeProto[] {
    return this.#nodes;
  }

  /** The node node() added last (to copy attributes onto it). */
  last(): O.INodeProto {
    return this.#nodes[this.#nodes.length - 1]!;
  }

  /** Adds a node and returns its (single) output's name: `out` if given, else a fresh one. */
  node(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, out?: string): string {
    const output = out ?? `${opType.toLowerCase()}_${this.#count}`;
    const attribute_ = Object.entries(attrs).map(([k, v]) => attribute(k, v));
    this.#nodes.push({ opType, input: inputs, output: [output], name: `${opType}_${this.#count++}`, attribute: attribute_ });
    return output;
  }

  /** Serialises the graph as a ModelProto (IR version 8, default-domain opset `opset`). */
  toBytes(opts: { name: string; inputs: GraphValue[]; outputs: GraphValue[]; opset: number; docString?: string }): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: opts.opset }],
      producerName: 'phasesr',
      docString: opts.docString ?? '',
      graph: {
        name: opts.name,
        node: this.#nodes,
        initializer: this.#inits,
        input: opts.inputs.map(valueInfo),
        output: opts.outputs.map(valueInfo),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

/** Op type -> count of a serialised model's graph (domain-prefixed outside the default domain). */
export function countOps(bytes: Uint8Array): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of onnx.ModelProto.decode(bytes).graph?.node ?? []) {
    const key = n.domain ? `${n.domain}:${n.opType}` : n.opType!;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
