/**
 * report.json (schema-versioned), layers.csv and the console summary of a simulator run. Every
 * figure says where it came from: counts and cycles are computed by this tool's model, costs from
 * the technology table (whose constants are listed with source and kind), verification results
 * are measured by running both integer implementations.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from './config.js';
import type { DesignPoint } from './costs.js';
import { costOf, scheduleOf, tasksOnChip } from './costs.js';
import { buildWorkload } from './workload.js';
import type { SimVariantId } from './variants.js';
import type { TechModel } from './tech.js';
import type { VerifyReport } from './pipeline.js';
import { floatParamShapes } from '../rtl-model/export.js';
import { EXPORTER_VERSION, exporterVersionOf } from '../formats/exporter-version.js';
import { ConfigError, geometryOf, PROJECT_ROOT } from './config.js';
import { checkpointSha256 } from './checkpoint-sha.js';
import { SIM_VARIANTS } from './variants.js';
import { averageOverTasks, experimentOf, primaryCells, summarize, type Stat } from '../analysis/results.js';
import { readResults, ResultsError } from '../formats/results-schema.js';
import { REPORT_SCHEMA, type ReportAccuracy, type ReportJson, type ReportUncertainty } from '../formats/report-schema.js';
import { SPEC_VERSION, tensorElements } from '../rtl-model/spec/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function toolVersion(): string {
  return JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')).version;
}

export function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
}

export function modelParams(cfg: Config): number {
  let n = 0;
  for (const shape of floatParamShapes(geometryOf(cfg.model)).values()) n += tensorElements(shape);
  return n;
}

function round(x: number, digits = 6): number {
  return Number(x.toPrecision(digits));
}

function roundParts<T extends Record<string, number>>(b: T): T {
  return Object.fromEntries(Object.entries(b).map(([k, v]) => [k, round(v)])) as T;
}

/** Check every number in the report: no NaN, no infinity, no negative counter. */
export function assertFinite(x: unknown, path = 'report'): void {
  if (typeof x === 'number') {
    if (!Number.isFinite(x)) throw new RangeError(`${path} = ${x}: not a finite number`);
  } else if (Array.isArray(x)) x.forEach((v, i) => assertFinite(v, `${path}[${i}]`));
  else if (x && typeof x === 'object') for (const [k, v] of Object.entries(x)) assertFinite(v, `${path}.${k}`);
}

export function buildReport(cfg: Config, tech: TechModel, points: DesignPoint[], verify: VerifyReport | null, command: string): ReportJson {
  const hw = cfg.hardware;
  const acc = accuracyOf(cfg);
  const report: ReportJson = {
    schema: REPORT_SCHEMA,
    config: { name: cfg.name, sha256: cfg.sha256, file: cfg.file },
    provenance: {
      tool: `bitfit-rom-accel ${toolVersion()}`,
      specVersion: SPEC_VERSION,
      gitCommit: gitCommit(),
      command,
      time: new Date().toISOString(),
      node: process.version,
    },
    model: {
      layers: cfg.model.layers,
      hidden: cfg.model.hidden,
      heads: cfg.model.heads,
      ffn: cfg.model.ffn,
      seqLen: cfg.model.seqLen,
      vocab: cfg.model.vocab,
      params: modelParams(cfg),
      weights:
        cfg.model.checkpoint === null
          ? {
              kind: 'synthetic',
              seed: cfg.model.syntheticSeed,
              note: 'seeded synthetic weights with BERT initializer statistics; accuracy is not meaningful for them',
            }
          : {
              kind: 'checkpoint',
              path: cfg.model.checkpoint,
              sha256: checkpointSha256(cfg.model.checkpoint),
              note:
                'weights of the checkpoint (its classifier head, and a pooler it lacks, seeded synthetic); ' +
                'the verification task image perturbs the writable tensors with a seeded synthetic task',
            },
    },
    hardware: {
      ...hw,
      romBitsPerCycle: hw.rom.banks * hw.rom.wordBits * hw.rom.readPorts,
    },
    technology: { node: tech.table.node, file: tech.table.file, description: tech.table.description, constants: tech.sources(), formulas: tech.table.formulas },
    sources: {
      counts:
        'computed by this tool: closed-form schedule of sim/workload.ts on sim/cycles.ts ' +
        '(SCALE-Sim v2 convention, checked against a cycle-stepped array model)',
      costs: `computed from ${tech.table.node} technology constants (technology.constants lists each with source and kind: measured, derived or assumed)`,
      verify: 'measured by this tool: datapath (rtl-model) and TensorFlow.js reference (trainer) run on the same images and compared element by element',
      accuracy: acc.source,
    },
    verify: verify
      ? {
          bitExact: verify.bitExact,
          backend: verify.backend,
          backendFallbacks: verify.backendFallbacks,
          ...(verify.adapter ? { adapter: verify.adapter } : {}),
          gemmEngine: verify.gemmEngine,
          variant: verify.variant,
          inputSeed: verify.inputSeed,
          tensorsCompared: verify.tensorsCompared,
          elementsCompared: verify.elementsCompared,
          mismatches: verify.mismatches,
          firstMismatch: verify.firstMismatch,
        }
      : null,
    variants: points.map((p) => ({
      id: p.variant,
      biasParams: p.plan.biasParams,
      writableParams: p.plan.writableParams,
      writableBits: p.plan.writableBits,
      romBits: p.plan.romBits,
      areaMm2: roundParts(p.areaMm2),
      energyUJ: roundParts(p.energyUJ),
      cycles: p.cycles,
      latencyUs: round(p.latencyUs),
      inferencesPerS: round(p.inferencesPerS),
      macs: p.counts.macs,
      counts: p.counts,
      taskImageBytes: Math.ceil(p.plan.taskImageBits / 8),
      taskSwitch: { cycles: p.taskSwitch.cycles, energyUJ: round(p.taskSwitch.energyUJ), source: p.taskSwitch.source },
      tasksOnChip: tasksOnChip(hw, p.plan),
      tasksPerMiB: p.tasksPerMiB,
      perTaskAreaMm2: round(p.perTaskAreaMm2),
      cyclesByLayer: byLayer(p, cfg.model.layers),
      cyclesByOpKind: byKind(p),
      accuracy: acc.byVariant.get(p.variant) ?? null,
      memories: Object.fromEntries(
        Object.entries(p.memories).map(([k, m]) => [
          k,
          {
            ...m,
            readEnergyPJ: round(m.readEnergyPJ),
            readPJPerBit: round(m.readPJPerBit),
            writePJPerBit: round(m.writePJPerBit),
            areaMm2: round(m.areaMm2),
            wireMm: round(m.wireMm),
            arrayWireMm: round(m.arrayWireMm),
          },
        ]),
      ),
    })),
    uncertainty: uncertaintyOf(cfg, tech, points),
  };
  assertFinite(report);
  return report;
}

/** The headline ratios: bitfit over full-ft and over dram-stream, for area and for energy per inference. */
export const HEADLINE: readonly { id: string; metric: 'area' | 'energy'; over: SimVariantId }[] = [
  { id: 'area: bitfit / full-ft', metric: 'area', over: 'full-ft' },
  { id: 'energy: bitfit / full-ft', metric: 'energy', over: 'full-ft' },
  { id: 'area: bitfit / dram-stream', metric: 'area', over: 'dram-stream' },
  { id: 'energy: bitfit / dram-stream', metric: 'energy', over: 'dram-stream' },
];

/**
 * How the headline ratios move when each assumed constant of the technology table (one at a time,
 * the others at their values) goes to the low and the high end of its range; the constants sorted
 * most influential first (largest swing of any ratio, on a log scale); and, per variant, the
 * envelope of area and energy over all those settings (the trade-off charts' bands).
 */
export function uncertaintyOf(cfg: Config, tech: TechModel, points: DesignPoint[]): ReportUncertainty {
  const g = geometryOf(cfg.model);
  const ops = buildWorkload(g);
  const ids = [...new Set<SimVariantId>([...points.map((p) => p.variant), 'bitfit', 'full-ft', 'dram-stream'])];
  // no constant changes a schedule: each variant is scheduled once, and only its costs are re-evaluated per setting
  const schedules = new Map(ids.map((v) => [v, scheduleOf(g, cfg.hardware, v, ops)]));
  const costAll = (t: TechModel): Map<string, { area: number; energy: number }> =>
    new Map(ids.map((v) => [v, (({ areaMm2, energyUJ }) => ({ area: areaMm2.total, energy: energyUJ.total }))(costOf(schedules.get(v)!, cfg.hardware, t))]));
  const ratios = (m: Map<string, { area: number; energy: number }>): number[] => HEADLINE.map((h) => m.get('bitfit')![h.metric] / m.get(h.over)![h.metric]);
  const base = costAll(tech);
  const baseRatios = ratios(base);
  const bands = new Map(points.map((p) => [p.variant, { area: [p.areaMm2.total, p.areaMm2.total], energy: [p.energyUJ.total, p.energyUJ.total] }]));
  const lo = [...baseRatios];
  const hi = [...baseRatios];
  const constants: ReportUncertainty['constants'] = [];
  for (const c of tech.sources()) {
    if (c.kind !== 'assumed' || !c.range || c.range[0] === c.range[1]) continue;
    const at = c.range.map((x) => costAll(tech.with({ [c.name]: x })));
    const rs = at.map(ratios);
    for (const m of at)
      for (const [v, b] of bands) {
        const x = m.get(v)!;
        b.area = [Math.min(b.area[0], x.area), Math.max(b.area[1], x.area)];
        b.energy = [Math.min(b.energy[0], x.energy), Math.max(b.energy[1], x.energy)];
      }
    HEADLINE.forEach((_, i) => {
      lo[i] = Math.min(lo[i], rs[0][i], rs[1][i]);
      hi[i] = Math.max(hi[i], rs[0][i], rs[1][i]);
    });
    const influence = Math.max(...HEADLINE.map((_, i) => Math.abs(Math.log(rs[1][i] / rs[0][i]))));
    constants.push({
      name: c.name,
      value: c.value,
      unit: c.unit,
      low: c.range[0],
      high: c.range[1],
      source: c.source,
      ratios: Object.fromEntries(HEADLINE.map((h, i) => [h.id, [round(rs[0][i]), round(rs[1][i])]])),
      influence: round(influence),
    });
  }
  constants.sort((a, b) => b.influence - a.influence || a.name.localeCompare(b.name));
  return {
    method:
      'one assumed constant at a time at the low and the high end of its range (technology.constants range), every other constant at its value; ' +
      'bands: per variant, the smallest and largest area and energy over all those settings; a ratio below 1 favours bitfit',
    headline: HEADLINE.map((h, i) => ({
      id: h.id,
      metric: h.metric,
      numerator: 'bitfit',
      denominator: h.over,
      base: round(baseRatios[i]),
      low: round(lo[i]),
      high: round(hi[i]),
      survives: hi[i] < 1 || lo[i] > 1,
    })),
    constants,
    bands: Object.fromEntries(
      [...bands].map(([v, b]) => [
        v,
        { areaMm2: [round(b.area[0]), round(b.area[1])] as [number, number], energyUJ: [round(b.energy[0]), round(b.energy[1])] as [number, number] },
      ]),
    ),
  };
}

/** A variant's measured accuracy, as report.json declares it (formats/report-schema.ts). */
export type VariantAccuracy = ReportAccuracy;

/**
 * Accuracy per simulated variant from the config's results directory: only runs of this exact
 * checkpoint (sha256) and sequence length count; others are left out and the source says how many.
 */
export function accuracyOf(cfg: Config): { byVariant: Map<string, VariantAccuracy>; source: string } {
  const byVariant = new Map<string, VariantAccuracy>();
  if (cfg.model.checkpoint === null)
    return { byVariant, source: 'null: seeded synthetic weights have no measured accuracy; published figures are not substituted' };
  if (cfg.model.results === null)
    return { byVariant, source: `null: the config names no fine-tuning results (model.results) for checkpoint ${cfg.model.checkpoint}` };
  const sha = checkpointSha256(cfg.model.checkpoint);
  let all: ReturnType<typeof readResults>;
  let runs: ReturnType<typeof readResults>;
  try {
    all = readResults(resolve(PROJECT_ROOT, cfg.model.results));
    runs = all.filter((r) => r.provenance.checkpoint.sha256 === sha && (r.provenance.geometry as { seqLen?: number } | undefined)?.seqLen === cfg.model.seqLen);
    experimentOf(runs, cfg.model.results);
  } catch (e) {
    if (e instanceof ResultsError) throw new ConfigError(cfg.file, 'model.results', e.message);
    throw e;
  }
  if (runs.length === 0) {
    return {
      byVariant,
      source:
        `null: none of the ${all.length} fine-tuning runs in ${cfg.model.results} is of this checkpoint ` +
        `(sha256 ${sha.slice(0, 16)}…) at sequence ${cfg.model.seqLen}; ` +
        'trainer/campaign.ts re-runs results of another checkpoint',
    };
  }
  const cells = primaryCells(summarize(runs));
  const tasks = [...new Set(cells.map((c) => c.task))].sort();
  const r1 = (x: number): number => Math.round(x * 10) / 10;
  const st = (s: Stat): { mean: number; std: number } => ({ mean: r1(s.mean), std: r1(s.std) });
  for (const v of SIM_VARIANTS) {
    const from = v === 'dram-stream' ? 'full-ft' : v;
    const avg = averageOverTasks(cells, from, tasks);
    if (!avg) continue;
    byVariant.set(v, {
      ...st(avg.float),
      metric: 'average of headline dev scores x 100 (accuracy: RTE, SST-2; F1: MRPC; MCC: CoLA; Spearman: STS-B), float model',
      seeds: avg.seeds,
      task: tasks.join(', '),
      integer: avg.integer ? st(avg.integer) : null,
      perTask: cells
        .filter((c) => c.variant === from)
        .map((c) => ({ task: c.task, metric: c.metric, lr: c.lr, float: st(c.float), integer: c.integer ? st(c.integer) : null })),
      from,
    });
  }
  const left = all.length - runs.length;
  const oldExporter = runs.filter((r) => (exporterVersionOf(r) ?? EXPORTER_VERSION) !== EXPORTER_VERSION).length;
  return {
    byVariant,
    source:
      `measured by this tool: ${runs.length} fine-tuning runs in ${cfg.model.results} ` +
      `(trainer/train.ts; checkpoint sha256 ${sha.slice(0, 16)}…, sequence ${cfg.model.seqLen}; ` +
      `dev sets of GLUE ${tasks.join(', ')}; seeds and learning rates per variant in accuracy)` +
      (left ? `; ${left} runs of other checkpoints or sequence lengths left out` : '') +
      (oldExporter
        ? `; the integer figures of ${oldExporter} runs are by an older exporter than version ${EXPORTER_VERSION} ` +
          '(formats/exporter-version.ts EXPORTER_VERSION: version 1 saturated the trained classification head), so they understate the datapath'
        : ''),
  };
}

/** Cycles each layer adds (index 0: embeddings, then the encoder layers, last: pooler and head). */
function byLayer(p: DesignPoint, layers: number): { layer: string; cycles: number; macs: number; utilization: number }[] {
  const rows = Array.from({ length: layers + 2 }, (_, i) => ({
    layer: i === 0 ? 'embeddings' : i === layers + 1 ? 'head' : String(i - 1),
    cycles: 0,
    macs: 0,
    utilization: 0,
  }));
  for (const o of p.ops) {
    const r = rows[o.layer + 1];
    r.cycles += o.addedCycles;
    r.macs += o.macs;
  }
  for (const r of rows) r.utilization = r.cycles > 0 ? round(r.macs / (r.cycles * p.arrayPEs), 4) : 0;
  return rows;
}

function byKind(p: DesignPoint): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of p.ops) out[o.kind] = (out[o.kind] ?? 0) + o.addedCycles;
  return out;
}

/** layers.csv: one row per op and variant. */
export function layersCsv(points: DesignPoint[]): string {
  const head = 'variant,layer,op,kind,cycles,added_cycles,stall_cycles,utilization,macs,rom_bits,sram_bits,buffer_bits,dram_bits';
  const rows = points.flatMap((p) =>
    p.ops.map((o) =>
      [
        p.variant,
        o.layer,
        o.op,
        o.kind,
        o.cycles,
        o.addedCycles,
        o.stallCycles,
        round(o.utilization, 4),
        o.macs,
        o.romBits,
        o.sramBits,
        o.bufferBits,
        o.dramBits,
      ].join(','),
    ),
  );
  return [head, ...rows].join('\n') + '\n';
}

const fmt = (x: number, d = 2): string => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

/** The CLI's table; with measured accuracy (report accuracyOf), a column "float / integer" score per variant. */
export function summaryTable(points: DesignPoint[], node: string, accuracy?: Map<string, VariantAccuracy>): string {
  const withAcc = accuracy !== undefined && accuracy.size > 0;
  const head = [
    'variant',
    'bias params',
    'task image B',
    `area mm2 (${node})`,
    'energy uJ',
    'latency us',
    'switch cycles',
    'switch uJ',
    ...(withAcc ? ['score float / int'] : []),
  ];
  const acc = (v: string): string[] => {
    if (!withAcc) return [];
    const a = accuracy.get(v);
    return [a ? `${a.mean.toFixed(1)} / ${a.integer ? a.integer.mean.toFixed(1) : '—'}` : '—'];
  };
  const rows = points.map((p) => [
    p.variant,
    String(p.plan.biasParams),
    String(Math.ceil(p.plan.taskImageBits / 8)),
    fmt(p.areaMm2.total),
    fmt(p.energyUJ.total, 1),
    fmt(p.latencyUs, 1),
    String(p.taskSwitch.cycles),
    fmt(p.taskSwitch.energyUJ, 2),
    ...acc(p.variant),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}
