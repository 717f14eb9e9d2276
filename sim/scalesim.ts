/**
 * SCALE-Sim v2 compatible mode: read a SCALE-Sim `.cfg` and a topology CSV (convolution or GEMM
 * M, N, K layout) and write COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv
 * with SCALE-Sim's columns, in CALC mode (ideal DRAM, estimated DRAM traffic) or USER mode (each
 * SRAM filled from DRAM at the configured words per cycle; stalls), from the memory simulation of
 * scalesim-memory.ts. Numbers are formatted as Python's str() prints them. A config key this tool
 * does not model is refused (exit 2), never ignored.
 */
import { readFileSync, existsSync } from 'node:fs';
import { ConfigError, DATAFLOWS, type Dataflow } from './config.js';
import { scaleSimMetrics, naiveSum, neumaierSum, type GemmShape } from './cycles.js';
import { gemmAsConv, simulateLayerMemory, type ConvShape, type LayerMemoryResult, type MemoryConfig } from './scalesim-memory.js';

export interface ScaleSimConfig {
  runName: string;
  rows: number;
  cols: number;
  dataflow: Dataflow;
  interfaceBandwidth: 'CALC' | 'USER';
  ifmapSramKB: number;
  filterSramKB: number;
  ofmapSramKB: number;
  ifmapOffset: number;
  filterOffset: number;
  ofmapOffset: number;
  /** DRAM words per cycle of each SRAM (USER mode; SCALE-Sim's `Bandwidth`). */
  bandwidth: number;
  file: string;
}

/** The keys SCALE-Sim v2's scale_config.py reads, per section; any other key is refused. */
const KNOWN_KEYS: Record<string, string[]> = {
  general: ['run_name'],
  architecture_presets: [
    'arrayheight',
    'arraywidth',
    'ifmapsramszkb',
    'filtersramszkb',
    'ofmapsramszkb',
    'ifmapoffset',
    'filteroffset',
    'ofmapoffset',
    'bandwidth',
    'dataflow',
    'memorybanks',
  ],
  run_presets: ['interfacebandwidth'],
  network_presets: ['topologycsvloc'],
};

/** INI as Python's configparser reads it: case-insensitive keys, `=` or `:`, `#`/`;` comment lines. */
function parseIni(text: string, file: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let section: Map<string, string> | null = null;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) return;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = new Map();
      out.set(sec[1].trim(), section);
      return;
    }
    const kv = /^([^:=]+)[:=](.*)$/.exec(line);
    if (!kv || !section) throw new ConfigError(file, `line ${i + 1}`, `${JSON.stringify(raw)} is neither a [section] nor a key: value line inside a section`);
    section.set(kv[1].trim().toLowerCase(), kv[2].trim());
  });
  return out;
}

export function loadScaleSimConfig(file: string): ScaleSimConfig {
  if (!existsSync(file)) throw new ConfigError(file, '(file)', 'does not exist');
  const ini = parseIni(readFileSync(file, 'utf8'), file);
  for (const [section, keys] of ini) {
    const known = KNOWN_KEYS[section];
    if (!known) {
      throw new ConfigError(file, `[${section}]`, `is not modelled by this tool (it reproduces SCALE-Sim v2's ${Object.keys(KNOWN_KEYS).join(', ')} sections)`);
    }
    for (const key of keys.keys()) {
      if (!known.includes(key)) throw new ConfigError(file, `[${section}] ${key}`, `is not modelled by this tool; known keys: ${known.join(', ')}`);
    }
  }
  const get = (section: string, key: string): string => {
    const v = ini.get(section)?.get(key.toLowerCase());
    if (v === undefined) throw new ConfigError(file, `[${section}] ${key}`, 'is missing');
    return v;
  };
  const int = (section: string, key: string, min = 1): number => {
    const v = get(section, key);
    if (!/^\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v)))
      throw new ConfigError(file, `[${section}] ${key}`, `${JSON.stringify(v)} must be an integer >= ${min}`);
    return Number(v);
  };
  const df = get('architecture_presets', 'Dataflow').toLowerCase();
  if (!(DATAFLOWS as readonly string[]).includes(df))
    throw new ConfigError(file, '[architecture_presets] Dataflow', `${JSON.stringify(df)} is not a dataflow; allowed: ${DATAFLOWS.join(', ')}`);
  const ib = ini.get('run_presets')?.get('interfacebandwidth') ?? 'CALC';
  if (ib !== 'CALC' && ib !== 'USER') throw new ConfigError(file, '[run_presets] InterfaceBandwidth', `${JSON.stringify(ib)}; allowed: CALC, USER`);
  const banks = ini.get('architecture_presets')?.has('memorybanks') ? int('architecture_presets', 'MemoryBanks') : 1;
  if (banks !== 1)
    throw new ConfigError(file, '[architecture_presets] MemoryBanks', `${banks}: only 1 is modelled (SCALE-Sim v2 serves every SRAM from the first bandwidth)`);
  let bandwidth = 10;
  if (ib === 'USER') {
    const bw = get('architecture_presets', 'Bandwidth');
    if (!/^\d+$/.test(bw) || Number(bw) < 1)
      throw new ConfigError(
        file,
        '[architecture_presets] Bandwidth',
        `${JSON.stringify(bw)}: USER mode needs one positive integer (words per cycle; one value per memory bank, and 1 bank is modelled)`,
      );
    bandwidth = Number(bw);
  }
  return {
    runName: ini.get('general')?.get('run_name') ?? 'scale_run',
    rows: int('architecture_presets', 'ArrayHeight'),
    cols: int('architecture_presets', 'ArrayWidth'),
    dataflow: df as Dataflow,
    interfaceBandwidth: ib,
    ifmapSramKB: int('architecture_presets', 'IfmapSramSzkB'),
    filterSramKB: int('architecture_presets', 'FilterSramSzkB'),
    ofmapSramKB: int('architecture_presets', 'OfmapSramSzkB'),
    ifmapOffset: int('architecture_presets', 'IfmapOffset', 0),
    filterOffset: int('architecture_presets', 'FilterOffset', 0),
    ofmapOffset: int('architecture_presets', 'OfmapOffset', 0),
    bandwidth,
    file,
  };
}

export interface TopologyLayer {
  name: string;
  gemm: GemmShape;
  /** The layer as SCALE-Sim's operand matrices see it (a GEMM is a 1 x K filter over an M x K ifmap). */
  conv: ConvShape;
}

/**
 * Topology CSV: a header, then one layer per row. GEMM layout (`Layer, M, N, K`) or convolution
 * layout (`Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter,
 * Strides`). A trailing comma is accepted but not required (SCALE-Sim requires it).
 */
export function loadTopology(file: string): TopologyLayer[] {
  if (!existsSync(file)) throw new ConfigError(file, '(file)', 'does not exist');
  const lines = readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (lines.length < 2) throw new ConfigError(file, '(rows)', 'needs a header and at least one layer');
  const fields = (l: string): string[] => {
    const f = l.split(',').map((x) => x.trim());
    if (f[f.length - 1] === '') f.pop();
    return f;
  };
  const header = fields(lines[0]).map((h) => h.toLowerCase());
  const gemm = header.length >= 4 && header[1] === 'm' && header[2] === 'n' && header[3] === 'k';
  return lines.slice(1).map((l, i) => {
    const f = fields(l);
    const row = `row ${i + 2}`;
    const num = (j: number, what: string): number => {
      const v = f[j];
      if (v === undefined || !/^\d+$/.test(v) || Number(v) < 1)
        throw new ConfigError(file, `${row} ${what}`, `${JSON.stringify(v)} must be a positive integer`);
      return Number(v);
    };
    if (gemm) {
      const [m, n, k] = [num(1, 'M'), num(2, 'N'), num(3, 'K')];
      return { name: f[0], gemm: { m, n, k }, conv: gemmAsConv(m, n, k) };
    }
    if (/DP/.test(f[0])) throw new ConfigError(file, `${row} ${f[0]}`, 'is a depth-wise layer (name contains DP), which this tool does not model');
    if (f.length < 8)
      throw new ConfigError(
        file,
        row,
        `has ${f.length} fields; the convolution layout needs 8 (name, IFMAP H, IFMAP W, Filter H, Filter W, Channels, Num Filter, Strides)`,
      );
    const [h, w, fh, fw, ch, nf, s] = [1, 2, 3, 4, 5, 6, 7].map((j) => num(j, header[j] ?? `field ${j}`));
    if (fh > h || fw > w) throw new ConfigError(file, row, `filter ${fh}x${fw} is larger than the input ${h}x${w}`);
    const eh = Math.ceil((h - fh + s) / s);
    const ew = Math.ceil((w - fw + s) / s);
    const conv = { ifmapH: h, ifmapW: w, filterH: fh, filterW: fw, channels: ch, filters: nf, strideH: s, strideW: s };
    return { name: f[0], gemm: { m: eh * ew, n: nf, k: fh * fw * ch }, conv };
  });
}

/** Python's str(float): shortest round-trip digits, with `.0` on integral values. */
export function pyFloat(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : x < 0 ? '-inf' : 'nan';
  const s = String(x);
  if (/e/.test(s)) {
    // Python: 1e-05 style exponents with at least two digits
    const [mant, exp] = s.split('e');
    const e = Number(exp);
    return `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  return Number.isInteger(x) ? `${s}.0` : s;
}

export type PySum = 'naive' | 'neumaier';

export interface ScaleSimReports {
  'COMPUTE_REPORT.csv': string;
  'BANDWIDTH_REPORT.csv': string;
  'DETAILED_ACCESS_REPORT.csv': string;
}

export const memoryConfigOf = (cfg: ScaleSimConfig): MemoryConfig => ({
  rows: cfg.rows,
  cols: cfg.cols,
  dataflow: cfg.dataflow,
  mode: cfg.interfaceBandwidth,
  bandwidth: cfg.bandwidth,
  ifmapWords: cfg.ifmapSramKB * 1024,
  filterWords: cfg.filterSramKB * 1024,
  ofmapWords: cfg.ofmapSramKB * 1024,
  ifmapOffset: cfg.ifmapOffset,
  filterOffset: cfg.filterOffset,
  ofmapOffset: cfg.ofmapOffset,
});

/** Simulate every layer's memories (SCALE-Sim's single_layer_sim), in order. */
export function simulateTopology(cfg: ScaleSimConfig, layers: TopologyLayer[]): LayerMemoryResult[] {
  const mc = memoryConfigOf(cfg);
  return layers.map((l) => simulateLayerMemory(mc, l.conv));
}

/** The three report files (SCALE-Sim's simulator.generate_reports, 19-column detailed report of its goldens). */
export function scaleSimReports(cfg: ScaleSimConfig, layers: TopologyLayer[], sum: PySum = 'naive', sims = simulateTopology(cfg, layers)): ScaleSimReports {
  const arr = { rows: cfg.rows, cols: cfg.cols, dataflow: cfg.dataflow };
  const compute = ['LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,'];
  const bandwidth = ['LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, Avg IFMAP DRAM BW, Avg FILTER DRAM BW, Avg OFMAP DRAM BW,'];
  const detail = [
    'LayerID, SRAM IFMAP Start Cycle, SRAM IFMAP Stop Cycle, SRAM IFMAP Reads, SRAM Filter Start Cycle, SRAM Filter Stop Cycle, SRAM Filter Reads, ' +
      'SRAM OFMAP Start Cycle, SRAM OFMAP Stop Cycle, SRAM OFMAP Writes, DRAM IFMAP Start Cycle, DRAM IFMAP Stop Cycle, DRAM IFMAP Reads, ' +
      'DRAM Filter Start Cycle, DRAM Filter Stop Cycle, DRAM Filter Reads, DRAM OFMAP Start Cycle, DRAM OFMAP Stop Cycle, DRAM OFMAP Writes,',
  ];
  layers.forEach((l, id) => {
    const r = sims[id];
    const m = scaleSimMetrics(arr, l.gemm, sum === 'naive' ? naiveSum : neumaierSum);
    const t = r.totalCycles;
    const macs = l.gemm.m * l.gemm.n * l.gemm.k;
    compute.push(
      `${id}, ${t}, ${r.stallCycles}, ${pyFloat((macs * 100) / (t * cfg.rows * cfg.cols))}, ${pyFloat(m.mappingEfficiencyPct)}, ${pyFloat(m.computeUtilPct)},`,
    );
    const { sram, dram } = r;
    const rate = (n: number, start: number, stop: number): string => pyFloat(n / (stop - start + 1));
    bandwidth.push(
      `${id}, ${[sram.ifmap.reads / t, sram.filter.reads / t, sram.ofmap.writes / t].map(pyFloat).join(', ')}, ` +
        `${rate(dram.ifmap.dramReads, dram.ifmap.dramStartCycle, dram.ifmap.dramStopCycle)}, ` +
        `${rate(dram.filter.dramReads, dram.filter.dramStartCycle, dram.filter.dramStopCycle)}, ` +
        `${rate(dram.ofmap.dramWrites, dram.ofmap.dramStartCycle, dram.ofmap.dramStopCycle)},`,
    );
    const c = pyFloat;
    detail.push(
      [
        id,
        c(sram.ifmap.startCycle),
        c(sram.ifmap.stopCycle),
        sram.ifmap.reads,
        c(sram.filter.startCycle),
        c(sram.filter.stopCycle),
        sram.filter.reads,
        c(sram.ofmap.startCycle),
        c(sram.ofmap.stopCycle),
        sram.ofmap.writes,
        c(dram.ifmap.dramStartCycle),
        c(dram.ifmap.dramStopCycle),
        dram.ifmap.dramReads,
        c(dram.filter.dramStartCycle),
        c(dram.filter.dramStopCycle),
        dram.filter.dramReads,
        c(dram.ofmap.dramStartCycle),
        c(dram.ofmap.dramStopCycle),
        dram.ofmap.dramWrites,
      ].join(', ') + ',',
    );
  });
  const text = (lines: string[]): string => lines.join('\n') + '\n';
  return { 'COMPUTE_REPORT.csv': text(compute), 'BANDWIDTH_REPORT.csv': text(bandwidth), 'DETAILED_ACCESS_REPORT.csv': text(detail) };
}

/** COMPUTE_REPORT.csv text for a topology on a config. */
export function computeReport(cfg: ScaleSimConfig, layers: TopologyLayer[], sum: PySum = 'naive'): string {
  return scaleSimReports(cfg, layers, sum)['COMPUTE_REPORT.csv'];
}
