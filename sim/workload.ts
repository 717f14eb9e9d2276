/**
 * Workload: model geometry -> the ordered list of operations of one inference (one sequence),
 * per layer, with the tensors each reads. GEMMs are given in SCALE-Sim's convention:
 * Sr = rows of the output (ofmap pixels), Sc = columns of the output (filters), T = the common
 * (reduction) dimension; the weight operand is the Sc x T matrix.
 */
import { type Geometry, layerPrefix } from '../rtl-model/spec/index.js';

export type OpKind = 'gemm' | 'softmax' | 'gelu' | 'tanh' | 'layernorm' | 'residual' | 'embed';

export interface Op {
  /** Layer index; -1 for embeddings, `layers` for the pooler and head. */
  layer: number;
  name: string;
  kind: OpKind;
  /** GEMM shape (Sr x T) * (T x Sc); `count` identical GEMMs (attention heads). */
  gemm?: { sr: number; sc: number; t: number; count: number; weight: string | null; bias: string | null; weightFromActivations: boolean };
  /** Elements processed by a non-GEMM op (or a GEMM's requantizations). */
  elements: number;
  /** Rows (for per-row units: LayerNorm's isqrt and reciprocal, softmax's reciprocal). */
  rows: number;
}

export function buildWorkload(g: Geometry): Op[] {
  const { seqLen: L, hidden: H, ffn: F, heads } = g;
  const dh = H / heads;
  const ops: Op[] = [];
  const lin = (layer: number, name: string, tensor: string, sr: number, sc: number, t: number): Op => ({
    layer,
    name,
    kind: 'gemm',
    gemm: { sr, sc, t, count: 1, weight: `${tensor}.weight`, bias: `${tensor}.bias`, weightFromActivations: false },
    elements: sr * sc,
    rows: sr,
  });
  ops.push({ layer: -1, name: 'embeddings', kind: 'embed', elements: 3 * L * H, rows: L });
  ops.push({ layer: -1, name: 'embeddings.layernorm', kind: 'layernorm', elements: L * H, rows: L });
  for (let l = 0; l < g.layers; l++) {
    const p = layerPrefix(l);
    ops.push(lin(l, 'query', `${p}attention.self.query`, L, H, H));
    ops.push(lin(l, 'key', `${p}attention.self.key`, L, H, H));
    ops.push(lin(l, 'value', `${p}attention.self.value`, L, H, H));
    ops.push({
      layer: l,
      name: 'scores',
      kind: 'gemm',
      gemm: { sr: L, sc: L, t: dh, count: heads, weight: null, bias: null, weightFromActivations: true },
      elements: heads * L * L,
      rows: heads * L,
    });
    ops.push({ layer: l, name: 'softmax', kind: 'softmax', elements: heads * L * L, rows: heads * L });
    ops.push({
      layer: l,
      name: 'context',
      kind: 'gemm',
      gemm: { sr: L, sc: dh, t: L, count: heads, weight: null, bias: null, weightFromActivations: true },
      elements: heads * L * dh,
      rows: heads * L,
    });
    ops.push(lin(l, 'attention.output', `${p}attention.output.dense`, L, H, H));
    ops.push({ layer: l, name: 'attention.residual', kind: 'residual', elements: L * H, rows: L });
    ops.push({ layer: l, name: 'attention.layernorm', kind: 'layernorm', elements: L * H, rows: L });
    ops.push(lin(l, 'ffn.up', `${p}intermediate.dense`, L, F, H));
    ops.push({ layer: l, name: 'gelu', kind: 'gelu', elements: L * F, rows: L });
    ops.push(lin(l, 'ffn.down', `${p}output.dense`, L, H, F));
    ops.push({ layer: l, name: 'output.residual', kind: 'residual', elements: L * H, rows: L });
    ops.push({ layer: l, name: 'output.layernorm', kind: 'layernorm', elements: L * H, rows: L });
  }
  ops.push(lin(g.layers, 'pooler', 'bert.pooler.dense', 1, H, H));
  ops.push({ layer: g.layers, name: 'pooler.tanh', kind: 'tanh', elements: H, rows: 1 });
  ops.push(lin(g.layers, 'classifier', 'classifier', 1, g.numLabels, H));
  return ops;
}

/** MACs of the workload (equals the datapath's MAC counter for one forward pass). */
export function workloadMacs(ops: Op[]): number {
  return ops.reduce((s, o) => s + (o.gemm ? o.gemm.sr * o.gemm.sc * o.gemm.t * o.gemm.count : 0), 0);
}
