#!/usr/bin/env -S npx tsx
/**
 * The paper's Table 3 (variants x tasks, mean ± std over seeds) from a campaign's results, float and
 * through the integer datapath, with the generalisation gap, the bias-change profile (Figure 1), the
 * dev score against training-set size where runs of several sizes exist (Figure 2) and, given a
 * second results directory, the difference against it (e.g. random initialisation).
 *
 *   npx tsx analysis/table.ts --results fixtures/results/bitfit-small [--compare fixtures/results/random-init]
 *       [--sizes-with DIR] [--out FILE.md] [--json FILE.json] [--svg DIR]
 *
 * --sizes-with DIR adds DIR's runs to the Figure 2 section only: those of the same experiment
 * (checkpoint, sequence length, epochs), of a task and variant the main directory has, at sizes it
 * lacks (a size sweep's plan leaves out the size its main campaign already ran). --svg DIR writes
 * DIR/bias-change.svg (Figure 1) and DIR/train-size-<task>.svg (Figure 2).
 *
 * Exit status: 0 ok, 2 bad input (a missing directory, a file that is not a result, an output that
 * cannot be written: all checked before anything is written), 3 a bug.
 */
import { relative, resolve } from 'node:path';
import { biasChangeChart, trainSizeChart, type SizeCurve } from './trainer-charts.js';
import { constantBaselines, type Baseline } from './baselines.js';
import { averageOverTasks, experimentOf, fmtStat, meanBiasChange, primaryCells, runsOf, stat, summarize, trainExamples, type CellSummary } from './results.js';
import { parseFlags } from '../formats/flags.js';
import { readResults, ResultsError, type RunResultFile } from '../formats/results-schema.js';
import { EXPORTER_VERSION, exporterVersionOf } from '../formats/exporter-version.js';
import { InputError, UsageError } from '../formats/errors.js';
import { checkOutputDir, checkOutputFile, writeFilesAtomic } from '../formats/atomic-write.js';
import { isMain, runCli } from '../formats/cli.js';
import { ALL_VARIANTS } from '../formats/variants.js';

const TASK_ORDER = ['qnli', 'sst2', 'cola', 'stsb', 'mrpc', 'rte'];
/** The rows' order: the full fine-tuning baseline first (as the paper's Table 3), then the registry's (formats/variants.ts). */
const VARIANT_ORDER: string[] = ['full-ft', ...ALL_VARIANTS.filter((v) => v !== 'full-ft')];
const TASK_LABEL: Record<string, string> = { qnli: 'QNLI', sst2: 'SST-2', cola: 'CoLA', stsb: 'STS-B', mrpc: 'MRPC', rte: 'RTE' };
const order = (list: string[], ref: string[]): string[] =>
  [...list].sort((a, b) => (ref.indexOf(a) + 1 || 99) - (ref.indexOf(b) + 1 || 99) || a.localeCompare(b));

export interface TableInput {
  name: string;
  runs: RunResultFile[];
}

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export interface SizeFigure {
  task: string;
  metric: string;
  curves: SizeCurve[];
  /** The constant prediction's dev score, where the baselines were given and the metric has one. */
  baseline: number | null;
}

export function buildTables(
  main: TableInput,
  compare?: TableInput,
  baselines?: Baseline[],
  sizesWith?: TableInput,
): { markdown: string; json: Record<string, unknown>; sizeFigures: SizeFigure[] } {
  const exp = experimentOf(main.runs, main.name);
  if (compare) experimentOf(compare.runs, compare.name);
  const allCells = summarize(main.runs);
  const cells = primaryCells(allCells);
  const tasks = order([...new Set(cells.map((c) => c.task))], TASK_ORDER);
  const variants = order([...new Set(cells.map((c) => c.variant))], VARIANT_ORDER);
  const cell = (t: string, v: string): CellSummary | undefined => cells.find((c) => c.task === t && c.variant === v);
  const metricOf = (t: string): string => cells.find((c) => c.task === t)!.metric;
  const header = ['variant', 'trainable %', ...tasks.map((t) => `${TASK_LABEL[t] ?? t} (${metricOf(t)})`), 'avg'];
  // trainable share on a two-label task (STS-B's one-output head is slightly smaller)
  const pct = (v: string): string => {
    const r = main.runs.find((x) => x.variant === v && x.task !== 'stsb') ?? main.runs.find((x) => x.variant === v);
    return r ? r.trainable.percent.toFixed(3) : '—';
  };
  const baseRow = (): string[][] => {
    if (!baselines) return [];
    const score = (t: string): number | null | undefined => baselines.find((b) => b.task === t)?.score;
    const all = tasks.map(score);
    const avg = all.every((x) => typeof x === 'number') ? (all as number[]).reduce((a, b) => a + b, 0) / all.length : null;
    return [['(constant prediction)', '—', ...all.map((x) => (typeof x === 'number' ? x.toFixed(1) : 'n/a')), avg === null ? '—' : avg.toFixed(1)]];
  };
  const rowsOf = (kind: 'float' | 'integer'): string[][] => [
    ...variants.map((v) => [v, pct(v), ...tasks.map((t) => fmtStat(cell(t, v)?.[kind] ?? null)), fmtStat(averageOverTasks(cells, v, tasks)?.[kind] ?? null)]),
    ...baseRow(),
  ];
  const sizes = [...new Set(cells.map((c) => c.trainExamples))].sort((a, b) => a - b);
  const lrs = [...new Set(cells.map((c) => `${c.variant} ${c.lr}`))];
  const seeds = [...new Set(cells.flatMap((c) => c.seeds))].sort((a, b) => a - b);
  const wall = main.runs.reduce((a, r) => a + (r.provenance.wallS ?? 0), 0);
  const parts: string[] = [];
  parts.push(`# ${main.name}: ${main.runs.length} runs`);
  parts.push(
    `Model: ${exp.checkpoint.length === 64 ? `checkpoint sha256 ${exp.checkpoint.slice(0, 16)}…` : exp.checkpoint}; ` +
      `sequence ${exp.seqLen}; ${exp.epochs} epochs; ` +
      `training examples per task: ${sizes.join(', ')}; seeds ${seeds.join(', ')}; ` +
      `dev scores of each run's best epoch, headline metric × 100, mean ± sample std over seeds (± — for a single seed); ` +
      `learning rate per variant: best mean dev among those run. ` +
      `Total training wall time ${(wall / 3600).toFixed(2)} h.`,
  );
  parts.push('## Float model (Table 3 layout)', table(header, rowsOf('float')));
  if (baselines) {
    parts.push(
      'The last row is what a model that learned nothing from the input scores: the best constant prediction on each dev set ' +
        '(one class for every example; for STS-B a constant score has no correlation: n/a). Dev files: ' +
        baselines.map((b) => `${TASK_LABEL[b.task] ?? b.task} sha256 ${b.devSha256.slice(0, 12)}…`).join(', ') +
        '.',
    );
  }
  parts.push('## Through the integer datapath (ROM/SRAM images of the best epoch)', table(header, rowsOf('integer')));
  // integer accuracy of an older exporter: say so under the table (results carry the version from 2 on)
  const versions = new Map<number, number>();
  for (const r of main.runs) {
    const ev = exporterVersionOf(r);
    if (ev !== null) versions.set(ev, (versions.get(ev) ?? 0) + 1);
  }
  const old = [...versions].filter(([ev]) => ev !== EXPORTER_VERSION);
  if (old.length) {
    parts.push(
      `Exporter: ${old.map(([ev, n]) => `${n} of these runs were evaluated by exporter version ${ev}`).join(', ')}, against ${EXPORTER_VERSION} now ` +
        "(version 1 quantized the trained classification head at its random initialisation's scales, saturating it; " +
        'formats/exporter-version.ts EXPORTER_VERSION). ' +
        'Their integer figures understate what the datapath keeps; a campaign re-runs them as stale.',
    );
  }
  parts.push(
    '## Generalisation gap (train subset − dev, best epoch, float)',
    table(
      ['variant', ...tasks.map((t) => TASK_LABEL[t] ?? t)],
      variants.map((v) => [
        v,
        ...tasks.map((t) => {
          const c = cell(t, v);
          return c ? (c.train.mean - c.float.mean).toFixed(1) : '—';
        }),
      ]),
    ),
  );
  // the paper's Figure 2: the same task and variant at several training-set sizes (with --sizes-with,
  // the sizes another directory of the same experiment adds)
  const sized = new Map<string, CellSummary[]>();
  const addSized = (c: CellSummary): void => void sized.set(`${c.task} ${c.variant}`, [...(sized.get(`${c.task} ${c.variant}`) ?? []), c]);
  allCells.forEach(addSized);
  const added = new Map<string, CellSummary[]>();
  if (sizesWith) {
    experimentOf([...main.runs, ...sizesWith.runs], `${main.name} with --sizes-with ${sizesWith.name}`);
    for (const c of summarize(sizesWith.runs)) {
      const have = sized.get(`${c.task} ${c.variant}`);
      if (!have || have.some((h) => h.trainExamples === c.trainExamples)) continue;
      addSized(c);
      added.set(c.task, [...(added.get(c.task) ?? []), c]);
    }
  }
  // which sizes (and learning rates) came from the other directory, per task
  const addedNote = (t: string): string => {
    const cs = added.get(t)!;
    const sizes = [...new Set(cs.map((c) => c.trainExamples))].sort((a, b) => a - b);
    const rates = order([...new Set(cs.map((c) => c.variant))], VARIANT_ORDER).map(
      (v) => `${v} lr ${[...new Set(cs.filter((c) => c.variant === v).map((c) => c.lr))].join('/')}`,
    );
    return `Float dev score, mean ± std over seeds. Sizes ${sizes.join(', ')} from ${sizesWith!.name} (${rates.join(', ')}).`;
  };
  const sizeFigures: SizeFigure[] = [];
  for (const t of tasks) {
    const curves = variants.map((v) => (sized.get(`${t} ${v}`) ?? []).sort((a, b) => a.trainExamples - b.trainExamples)).filter((cs) => cs.length > 1);
    if (curves.length === 0) continue;
    const sizes = [...new Set(curves.flat().map((c) => c.trainExamples))].sort((a, b) => a - b);
    parts.push(
      `## ${TASK_LABEL[t] ?? t} dev score against training-set size (the paper's Figure 2)`,
      table(
        ['variant', ...sizes.map(String)],
        curves.map((cs) => [cs[0].variant, ...sizes.map((n) => fmtStat(cs.find((c) => c.trainExamples === n)?.float ?? null))]),
      ),
    );
    if (added.has(t)) parts.push(addedNote(t));
    const b = baselines?.find((x) => x.task === t)?.score;
    sizeFigures.push({
      task: TASK_LABEL[t] ?? t,
      metric: metricOf(t),
      curves: curves.map((cs) => ({
        variant: cs[0].variant,
        points: cs.map((c) => ({ n: c.trainExamples, mean: c.float.mean, std: c.float.std, seeds: c.float.n })),
      })),
      baseline: typeof b === 'number' ? b : null,
    });
  }
  const fig1 = meanBiasChange(cells.filter((c) => c.variant === 'bitfit').flatMap((c) => runsOf(main.runs, c)));
  if (fig1) {
    const layers = Object.values(fig1)[0].length;
    parts.push(
      "## Bias change |b_F − b_0| of bitfit (mean over the Table 3 runs of every task and seed; the paper's Figure 1)",
      table(
        ['term', ...Array.from({ length: layers }, (_, l) => `layer ${l}`)],
        Object.entries(fig1).map(([t, xs]) => [t, ...xs.map((x) => x.toExponential(2))]),
      ),
    );
  }
  // every learning rate run (a probe or the paper's grid): mean float dev score per rate
  const rateRuns = main.runs.filter((r) => cells.some((c) => c.task === r.task && c.variant === r.variant && c.trainExamples === trainExamples(r)));
  const rates = [...new Set(rateRuns.map((r) => r.lr))].sort((a, b) => a - b);
  const multi = variants.some((v) => tasks.some((t) => new Set(rateRuns.filter((r) => r.task === t && r.variant === v).map((r) => r.lr)).size > 1));
  if (multi) {
    const rows: string[][] = [];
    for (const t of tasks) {
      for (const v of variants) {
        const rs = rateRuns.filter((r) => r.task === t && r.variant === v);
        if (rs.length === 0) continue;
        rows.push([
          TASK_LABEL[t] ?? t,
          v,
          ...rates.map((lr) => {
            const g = rs.filter((r) => r.lr === lr);
            return g.length ? fmtStat(stat(g.map((r) => 100 * r.best.value))) + (cell(t, v)?.lr === lr ? ' *' : '') : '';
          }),
        ]);
      }
    }
    parts.push(
      '## Dev score per learning rate (float, mean ± std over seeds; * = the rate Table 3 uses)',
      table(['task', 'variant', ...rates.map((lr) => `lr ${lr}`)], rows),
    );
  }
  let comparison: Record<string, unknown> | null = null;
  if (compare) {
    const other = primaryCells(summarize(compare.runs));
    const shared = variants.filter((v) => other.some((c) => c.variant === v));
    const rows = shared.map((v) => [
      v,
      ...tasks.map((t) => {
        const a = cell(t, v);
        const b = other.find((c) => c.task === t && c.variant === v);
        return a && b
          ? `${fmtStat(a.float)} vs ${fmtStat(b.float)} (${(a.float.mean - b.float.mean >= 0 ? '+' : '') + (a.float.mean - b.float.mean).toFixed(1)})`
          : '—';
      }),
      (() => {
        const a = averageOverTasks(cells, v, tasks);
        const b = averageOverTasks(other, v, tasks);
        return a && b ? `${(a.float.mean - b.float.mean >= 0 ? '+' : '') + (a.float.mean - b.float.mean).toFixed(1)}` : '—';
      })(),
    ]);
    parts.push(
      `## ${main.name} vs ${compare.name} (float dev score; difference in brackets)`,
      table(['variant', ...tasks.map((t) => TASK_LABEL[t] ?? t), 'avg diff'], rows),
    );
    comparison = { name: compare.name, cells: other };
  }
  parts.push(`Learning rates: ${lrs.join('; ')}.`);
  return {
    markdown: parts.join('\n\n') + '\n',
    json: {
      name: main.name,
      runs: main.runs.length,
      tasks,
      variants,
      cells,
      averages: variants.map((v) => averageOverTasks(cells, v, tasks)),
      biasChange: fig1,
      sizeFigures,
      sizesWith: sizesWith
        ? {
            name: sizesWith.name,
            added: [...added.values()].flat().map((c) => ({ task: c.task, variant: c.variant, trainExamples: c.trainExamples, lr: c.lr })),
          }
        : null,
      comparison,
      baselines: baselines ?? null,
    },
    sizeFigures,
  };
}

const HELP =
  'usage: npx tsx analysis/table.ts --results DIR [--compare DIR] [--sizes-with DIR] [--out FILE.md] [--json FILE.json] [--svg DIR]\n' +
  '         [--glue-dir DIR] [--no-baselines]\n\n' +
  '  --compare DIR     a second campaign (e.g. random initialisation): float difference per task and variant\n' +
  "  --sizes-with DIR  add DIR's runs (same checkpoint, sequence length, epochs) at training-set sizes the main\n" +
  '                    directory lacks to the Figure 2 section only (e.g. a size sweep with its main campaign)\n' +
  '  --svg DIR         write DIR/bias-change.svg (Figure 1) and DIR/train-size-<task>.svg (Figure 2)\n' +
  '  --glue-dir DIR    GLUE data for the constant-prediction row (default directory as trainer/train.ts)\n' +
  '  --no-baselines    leave the constant-prediction row out\n\n' +
  'Exit status: 0 ok, 2 bad input, 3 a bug.\n';

export function main(argv: string[]): number {
  const v = parseFlags(argv, {
    results: { type: 'string' },
    compare: { type: 'string' },
    'sizes-with': { type: 'string' },
    out: { type: 'string' },
    json: { type: 'string' },
    svg: { type: 'string' },
    'glue-dir': { type: 'string' },
    'no-baselines': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!v.results) throw new UsageError('--results', 'is required', { hint: 'a campaign directory under fixtures/results' });
  // every output before any work
  if (v.out) checkOutputFile(v.out, '--out');
  if (v.json) checkOutputFile(v.json, '--json');
  if (v.svg) checkOutputDir(v.svg, '--svg');
  const load = (d: string, flag: string): TableInput => {
    const runs = readResults(d, flag);
    if (runs.length === 0) throw new ResultsError(d, flag, 'holds no result files', { hint: 'a directory of trainer/train.ts result files (*.json)' });
    return { name: relative(process.cwd(), resolve(d)) || d, runs };
  };
  const main = load(v.results, '--results');
  const compare = v.compare ? load(v.compare, '--compare') : undefined;
  const sizesWith = v['sizes-with'] ? load(v['sizes-with'], '--sizes-with') : undefined;
  let baselines: Baseline[] | undefined;
  if (!v['no-baselines']) {
    try {
      baselines = constantBaselines([...new Set(main.runs.map((r) => r.task))], v['glue-dir']);
    } catch (e) {
      // without --glue-dir, GLUE data that is not there only leaves the row out; with it, it is an error
      if (v['glue-dir'] || !(e instanceof InputError)) throw e;
      console.error(`analysis/table.ts: no constant-prediction row (${e.message.split('\n')[0]}; pass --glue-dir)`);
    }
  }
  const t = buildTables(main, compare, baselines, sizesWith);
  if (sizesWith && !(t.json.sizesWith as { added: unknown[] }).added.length) {
    console.error(
      `analysis/table.ts: --sizes-with ${v['sizes-with']}: no runs added (none of a task and variant of ${v.results} at a training-set size it lacks)`,
    );
  }
  // all outputs at once: either every file is new or none is
  const files: Record<string, string> = {};
  if (v.out) files[resolve(v.out)] = t.markdown;
  if (v.json) files[resolve(v.json)] = JSON.stringify(t.json, null, 2) + '\n';
  if (v.svg && t.json.biasChange) files[resolve(v.svg, 'bias-change.svg')] = biasChangeChart(t.json.biasChange as Record<string, number[]>);
  if (v.svg)
    for (const fig of t.sizeFigures)
      files[resolve(v.svg, `train-size-${fig.task.toLowerCase().replace(/[^a-z0-9]+/g, '')}.svg`)] = trainSizeChart(fig.curves, fig);
  const flags = ['out', 'json', 'svg'].filter((k) => v[k as 'out' | 'json' | 'svg']).map((k) => `--${k}`);
  if (flags.length) writeFilesAtomic(process.cwd(), files, { field: flags.join(', ') });
  process.stdout.write(t.markdown);
  return 0;
}

if (isMain(import.meta.url)) runCli('analysis/table.ts', main);
