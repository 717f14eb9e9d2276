/**
 * Bit-exact verification: run the datapath (implementation A) and the TensorFlow.js reference
 * (implementation B) on the same images and input, and compare every named tensor element by
 * element.
 */
import type { IntTensor } from '../rtl-model/datapath.js';

export interface Mismatch {
  tensor: string;
  index: number;
  datapath: number;
  reference: number;
}

export interface TensorComparison {
  name: string;
  elements: number;
  mismatches: number;
  maxAbsDiff: number;
}

export interface Comparison {
  bitExact: boolean;
  tensorsCompared: number;
  elementsCompared: number;
  mismatches: number;
  maxAbsDiff: number;
  firstMismatch: Mismatch | null;
  perTensor: TensorComparison[];
  /** Names produced by only one implementation (a mismatch in itself). */
  missing: { datapathOnly: string[]; referenceOnly: string[] };
}

/** Compare two sets of named integer tensors in the datapath's order. */
export function compareTensors(a: Map<string, IntTensor>, b: Map<string, ArrayLike<number>>): Comparison {
  const perTensor: TensorComparison[] = [];
  let elements = 0;
  let mismatches = 0;
  let maxAbsDiff = 0;
  let first: Mismatch | null = null;
  const datapathOnly: string[] = [];
  for (const [name, va] of a) {
    const vb = b.get(name);
    if (!vb) {
      datapathOnly.push(name);
      continue;
    }
    let mm = 0;
    let md = 0;
    const n = Math.max(va.length, vb.length);
    for (let i = 0; i < n; i++) {
      const x = va[i];
      const y = vb[i];
      if (x !== y) {
        mm++;
        const d = x === undefined || y === undefined ? Infinity : Math.abs(x - y);
        if (d > md) md = d;
        if (!first) first = { tensor: name, index: i, datapath: x ?? NaN, reference: y ?? NaN };
      }
    }
    perTensor.push({ name, elements: n, mismatches: mm, maxAbsDiff: md });
    elements += n;
    mismatches += mm;
    maxAbsDiff = Math.max(maxAbsDiff, md);
  }
  const referenceOnly = [...b.keys()].filter((k) => !a.has(k));
  return {
    bitExact: mismatches === 0 && datapathOnly.length === 0 && referenceOnly.length === 0 && perTensor.length > 0,
    tensorsCompared: perTensor.length,
    elementsCompared: elements,
    mismatches,
    maxAbsDiff,
    firstMismatch: first,
    perTensor,
    missing: { datapathOnly, referenceOnly },
  };
}
