/**
 * SCALE-Sim v2 compatible mode: read a SCALE-Sim `.cfg` and a topology CSV (convolution or GEMM
 * M, N, K layout) and write COMPUTE_REPORT.csv with SCALE-Sim's columns, in its convention
 * (CALC mode: ideal memories, no stalls; fill and drain included; Total Cycles is the index of the
 * last output write, i.e. folds * L - 1). Numbers are formatted as Python's str(float) prints them.
 */
import { readFileSync, existsSync } from 'node:fs';
import { ConfigError, DATAFLOWS, type Dataflow } from './config.js';
import { scaleSimMetrics, naiveSum, neumaierSum, type GemmShape } from './cycles.js';

export interface ScaleSimConfig {
  runName: string;
  rows: number;
  cols: number;
  dataflow: Dataflow;
  interfaceBandwidth: 'CALC' | 'USER';
  file: string;
}

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
  const get = (section: string, key: string): string => {
    const v = ini.get(section)?.get(key.toLowerCase());
    if (v === undefined) throw new ConfigError(file, `[${section}] ${key}`, 'is missing');
    return v;
  };
  const int = (section: string, key: string): number => {
    const v = get(section, key);
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new ConfigError(file, `[${section}] ${key}`, `${JSON.stringify(v)} must be a positive integer`);
    return Number(v);
  };
  const df = get('architecture_presets', 'Dataflow').toLowerCase();
  if (!(DATAFLOWS as readonly string[]).includes(df))
    throw new ConfigError(file, '[architecture_presets] Dataflow', `${JSON.stringify(df)} is not a dataflow; allowed: ${DATAFLOWS.join(', ')}`);
  const ib = ini.get('run_presets')?.get('interfacebandwidth') ?? 'CALC';
  if (ib !== 'CALC' && ib !== 'USER') throw new ConfigError(file, '[run_presets] InterfaceBandwidth', `${JSON.stringify(ib)}; allowed: CALC, USER`);
  return {
    runName: ini.get('general')?.get('run_name') ?? 'scale_run',
    rows: int('architecture_presets', 'ArrayHeight'),
    cols: int('architecture_presets', 'ArrayWidth'),
    dataflow: df as Dataflow,
    interfaceBandwidth: ib,
    file,
  };
}

export interface TopologyLayer {
  name: string;
  gemm: GemmShape;
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
    if (gemm) return { name: f[0], gemm: { m: num(1, 'M'), n: num(2, 'N'), k: num(3, 'K') } };
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
    return { name: f[0], gemm: { m: eh * ew, n: nf, k: fh * fw * ch } };
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

/** COMPUTE_REPORT.csv text for a topology on a config. */
export function computeReport(cfg: ScaleSimConfig, layers: TopologyLayer[], sum: PySum = 'naive'): string {
  const arr = { rows: cfg.rows, cols: cfg.cols, dataflow: cfg.dataflow };
  const lines = ['LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,'];
  layers.forEach((l, id) => {
    const r = scaleSimMetrics(arr, l.gemm, sum === 'naive' ? naiveSum : neumaierSum);
    lines.push(`${id}, ${r.totalCycles}, ${r.stallCycles}, ${pyFloat(r.overallUtilPct)}, ${pyFloat(r.mappingEfficiencyPct)}, ${pyFloat(r.computeUtilPct)},`);
  });
  return lines.join('\n') + '\n';
}
