/**
 * Reading simulator reports (report.json, schema bitfit-rom-accel/report@1). analysis/ reads only
 * report and results files, never simulator internals.
 */
import { readFileSync, existsSync } from 'node:fs';

export const SUPPORTED_SCHEMA = 'bitfit-rom-accel/report@1';

export interface Breakdown {
  total: number;
  [part: string]: number;
}

export interface VariantJson {
  id: string;
  biasParams: number;
  writableParams: number;
  writableBits: number;
  romBits: number;
  areaMm2: Breakdown;
  energyUJ: Breakdown;
  cycles: number;
  latencyUs: number;
  inferencesPerS: number;
  taskImageBytes: number;
  taskSwitch: { cycles: number; energyUJ: number; source: string };
  tasksOnChip: number;
  perTaskAreaMm2: number;
  cyclesByLayer: { layer: string; cycles: number; macs: number; utilization: number }[];
  cyclesByOpKind: Record<string, number>;
  accuracy: {
    mean: number;
    std: number;
    metric: string;
    seeds: number[];
    task?: string;
    integer?: { mean: number; std: number } | null;
    perTask?: { task: string; metric: string; lr: number; float: { mean: number; std: number }; integer: { mean: number; std: number } | null }[];
    from?: string;
  } | null;
}

export interface ReportJson {
  schema: string;
  config: { name: string; sha256: string; file: string };
  provenance: { tool: string; specVersion: number; gitCommit: string; command: string; time: string; node: string };
  model: { layers: number; hidden: number; heads: number; ffn: number; seqLen: number; vocab: number; params: number; weights: { kind: string; seed?: number; note?: string } };
  hardware: Record<string, unknown> & { technology: string; clockMHz: number; array: { rows: number; cols: number; dataflow: string } };
  technology: { node: string; file: string; description: string; constants: { name: string; value: number; unit: string; kind: string; source: string; formula?: string }[]; formulas: Record<string, string> };
  sources: Record<string, string>;
  verify: {
    bitExact: boolean;
    backend: string;
    gemmEngine: string;
    variant: string;
    tensorsCompared: number;
    elementsCompared: number;
    mismatches: number;
    firstMismatch: { tensor: string; index: number; datapath: number; reference: number } | null;
  } | null;
  variants: VariantJson[];
}

export class ReportError extends Error {
  constructor(file: string, field: string, message: string) {
    super(`${file}: ${field}: ${message}`);
    this.name = 'ReportError';
  }
}

export function readReport(file: string): ReportJson {
  if (!existsSync(file)) throw new ReportError(file, '(file)', 'does not exist');
  let r: ReportJson;
  try {
    r = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ReportError(file, '(file)', `is not valid JSON: ${(e as Error).message}`);
  }
  if (r.schema !== SUPPORTED_SCHEMA) throw new ReportError(file, 'schema', `${JSON.stringify(r.schema)}; this tool reads ${SUPPORTED_SCHEMA}`);
  if (!Array.isArray(r.variants) || r.variants.length === 0) throw new ReportError(file, 'variants', 'must be a non-empty array');
  for (const [i, v] of r.variants.entries()) {
    for (const k of ['areaMm2', 'energyUJ', 'cyclesByLayer', 'cyclesByOpKind', 'taskSwitch'] as const) {
      if (v[k] === undefined) throw new ReportError(file, `variants[${i}].${k}`, 'is missing');
    }
  }
  return r;
}
