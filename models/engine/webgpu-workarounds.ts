// Rewrites an exported graph into an equivalent one that onnxruntime-node 1.30's WebGPU engine computes
// correctly. Two of its kernels are wrong (found by bisecting the lite graph on lavapipe; docs/gpu.md):
// 1. Resize linear/cubic interpolates the last two axes whatever the scales say, so a channels-last
//    Resize (scales [1,s,s,1]) blends W with C. Here: Transpose to NCHW, Resize [1,1,s,s], Transpose back
//    (ORT cancels the transposes against its neighbours).
// 2. Conv kxk (k > 1) is wrong when its input channels are a multiple of 3 but not of 4 (6, 9, 15, ...)
//    and its output channels a multiple of 4: the vec3 path of its matmul-based conv. Here: Pad the input
//    with zero channels to a multiple of 4 and the weights with zero input channels (exact in float).
// Both rewrites leave every computed value the same; the CPU engine keeps the graph as exported.
import type { onnx as O } from 'onnx-proto';
import type { GraphBuilder } from './onnx-graph';

const ints = (n: O.INodeProto, name: string): number[] | undefined => n.attribute?.find((a) => a.name === name)?.ints?.map(Number);

/** Applies both rewrites to every Resize and Conv in `g` (any graph exportOnnx builds, whatever its layout). */
export function applyWebgpuWorkarounds(g: GraphBuilder): void {
  let count = 0;
  const fresh = (what: string): string => `webgpu_${what}_${count++}`;
  g.rewrite((n) => {
    if (n.opType === 'Resize') return channelsFirstResize(g, n, fresh);
    if (n.opType === 'Conv') padConvChannels(g, n, fresh);
    return 'keep';
  });
}

function channelsFirstResize(g: GraphBuilder, n: O.INodeProto, fresh: (w: string) => string): 'keep' | 'drop' {
  const scales = n.input?.[2] ? g.float(n.input[2]) : undefined;
  const s = scales?.data;
  if (s?.length !== 4 || s[3] !== 1 || (s[1] === 1 && s[2] === 1)) return 'keep';
  const first = g.node('Transpose', [n.input![0]!], { perm: { ints: [0, 3, 1, 2] } }, fresh('nchw'));
  const nchwScales = g.init(fresh('scales'), [4], new Float32Array([1, 1, s[1]!, s[2]!]));
  const resized = g.node('Resize', [first, n.input![1] ?? '', nchwScales], {}, fresh('resize'));
  g.last().attribute = n.attribute ?? [];
  g.node('Transpose', [resized], { perm: { ints: [0, 2, 3, 1] } }, n.output![0]!);
  return 'drop';
}

function padConvChannels(g: GraphBuilder, n: O.INodeProto, fresh: (w: string) => string): void {
  const w = n.input?.[1] ? g.float(n.input[1]) : undefined;
  if (w?.dims.length !== 4) return;
  const [co, ci, kh, kw] = w.dims as [number, number, number, number];
  const group = n.attribute?.find((a) => a.name === 'group')?.i;
  if (
    kh * kw === 1 ||
    ci % 3 !== 0 ||
    ci % 4 === 0 ||
    co % 4 !== 0 ||
    (group !== undefined && Number(group) !== 1) ||
    !ints(n, 'kernel_shape')
  )
    return;
  const ci4 = Math.ceil(ci / 4) * 4;
  const padded = new Float32Array(co * ci4 * kh * kw);
  for (let o = 0; o < co; o++) padded.set(w.data.subarray(o * ci * kh * kw, (o + 1) * ci * kh * kw), o * ci4 * kh * kw);
  const pads = g.initInt64(fresh('pads'), [0, 0, 0, 0, 0, ci4 - ci, 0, 0]);
  n.input![0] = g.node('Pad', [n.input![0]!, pads], { mode: { s: 'constant' } }, fresh('pad'));
  n.input![1] = g.init(fresh('w'), [co, ci4, kh, kw], padded);
}
