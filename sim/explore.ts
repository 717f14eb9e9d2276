#!/usr/bin/env -S npx tsx
/**
 * Design-space exploration as a command: every point of the axes' cross product costed by the
 * analytic model (sim/costs.ts), on every core of this machine or on a BullMQ queue's workers
 * (`--queue`), written as explore.csv (every figure, a Pareto flag per objective pair) and
 * explore.html (sim/explore-results.ts, analysis/explore-html.ts).
 *
 *   npx tsx sim/explore.ts --config rom-bert-base --array 8x8..256x256 --dataflow os,ws,is --tech 45nm,28nm,7nm --out DIR
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { loadConfig, geometryOf, type Config, type HardwareConfig } from './config.js';
import { loadScaleSimConfig } from './scalesim.js';
import { accuracyOf } from './report.js';
import {
  AXIS_ORDER,
  baseAxes,
  countPoints,
  parseArrayAxis,
  parseDataflowAxis,
  parseNumberAxis,
  parseTechAxis,
  parseVariantAxis,
  type ExploreAxes,
} from './explore-space.js';
import type { ChunkResult, ChunkSpec } from './sweep.js';
import { ChunkPool } from './explore-pool.js';
import { PointsBar } from './explore-progress.js';
import { bestPoints, finishTable, joinChunks, tableCsv, type Accuracy, type Constraints } from './explore-results.js';
import { checkRedisClient, jobId, queueStatus, redact, redisOptions, submitAndWait, type SweepJob } from './queue.js';
import { renderExplorePage } from '../analysis/explore-html.js';
import { checkOutputDir, writeFilesAtomic } from '../formats/atomic-write.js';
import { isMain, runCli } from '../formats/cli.js';
import { UsageError } from '../formats/errors.js';
import { flagNumber, parseFlags } from '../formats/flags.js';

const DEFAULT_CHUNK = 2000;
/**
 * A thread takes about 1.5 s to start (most of it loading mathjs for the technology tables), in which
 * it could cost some 20,000 points: by default a sweep gets one thread per that many points, up to every core.
 */
const POINTS_PER_THREAD = 20_000;

const HELP = `Usage: npx tsx sim/explore.ts --config <name|file.json> [axes] [constraints] --out DIR [--threads N | --queue URL]

Cost every point of a design space (the cross product of the axes) with the analytic model and write
DIR/explore.csv (one row per point: its axis values and every figure, a Pareto flag per objective
pair, whether it meets the constraints) and DIR/explore.html (Pareto fronts per variant, the best
point under each constraint, how each axis moves area, energy and latency).

  --config <name|file>  the base design (fixtures/configs/<name>.json or a path); its model geometry is costed
  --scalesim <X.cfg>    take the base array shape and dataflow from a SCALE-Sim .cfg instead
  --out DIR             where explore.csv and explore.html go

Axes (default: the base design's own value; lists are comma-separated; LO..HI is LO, 2 LO, 4 LO, ... up
to HI; LO..HI:STEP is LO, LO+STEP, ... up to HI):
  --array LIST          array shapes RxC, e.g. 128x128,64x256 or 8x8..256x256 (powers of two in rows and in cols)
  --dataflow LIST       os, ws, is
  --tech LIST           technology nodes (fixtures/tech): e.g. 45nm,28nm,7nm
  --buffer-kb LIST      size of each activation buffer (ifmap and ofmap), KB, e.g. 64..1024
  --rom-banks LIST      ROM banks, e.g. 16..256
  --sram-banks LIST     bias SRAM banks
  --clock-mhz LIST      clock, MHz, e.g. 500..1500:250
  --variant LIST        variants (default: the config's)

Constraints (points that break one are kept, with feasible = 0):
  --max-area-mm2 X      area at most X mm²
  --max-latency-us X    latency per inference at most X µs
  --min-accuracy X      measured accuracy (dev score x 100) at least X; needs a config with results

Engine:
  --threads N           worker threads on this machine (default: one per ${POINTS_PER_THREAD.toLocaleString('en-US')} points,
                        up to every core, ${availableParallelism()})
  --chunk N             points per chunk (a thread's or a queue job's unit of work; default ${DEFAULT_CHUNK})
  --queue URL           split the sweep into BullMQ jobs on this Redis (redis://[:password@]host:port, rediss:// for TLS)
                        and wait for workers (npx tsx sim/worker.ts --queue URL) to run them; the same CSV as a local run
  --status              with --queue: the queue's jobs (queued, active, done, failed with their errors) and workers
  -h, --help            this help

Exit status: 0 written, 1 a chunk failed on the queue, 2 bad input (a flag, the config), 3 a bug.
`;

const FLAGS = {
  config: { type: 'string' },
  scalesim: { type: 'string' },
  out: { type: 'string' },
  array: { type: 'string' },
  dataflow: { type: 'string' },
  tech: { type: 'string' },
  'buffer-kb': { type: 'string' },
  'rom-banks': { type: 'string' },
  'sram-banks': { type: 'string' },
  'clock-mhz': { type: 'string' },
  variant: { type: 'string' },
  'max-area-mm2': { type: 'string' },
  'max-latency-us': { type: 'string' },
  'min-accuracy': { type: 'string' },
  threads: { type: 'string' },
  chunk: { type: 'string' },
  queue: { type: 'string' },
  status: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export interface ExplorePlan {
  cfg: Config;
  hardware: HardwareConfig;
  axes: ExploreAxes;
  constraints: Constraints;
}

/** The plan of a command line: config, base hardware, axes and constraints (every flag checked). */
export function planOf(v: ReturnType<typeof parseFlags<typeof FLAGS>>): ExplorePlan {
  if (!v.config) throw new UsageError('--config', 'is required', { hint: 'e.g. --config rom-bert-base' });
  const cfg = loadConfig(v.config);
  let hardware = cfg.hardware;
  if (v.scalesim) {
    const s = loadScaleSimConfig(resolve(v.scalesim));
    hardware = { ...hardware, array: { rows: s.rows, cols: s.cols, dataflow: s.dataflow } };
  }
  const axes = baseAxes(hardware, cfg.variants);
  if (v.array) axes.arrays = parseArrayAxis('--array', v.array);
  if (v.dataflow) axes.dataflows = parseDataflowAxis('--dataflow', v.dataflow);
  if (v.tech) axes.nodes = parseTechAxis('--tech', v.tech);
  if (v['buffer-kb']) axes.bufferKB = parseNumberAxis('--buffer-kb', v['buffer-kb'], { integer: false, min: 1 / 1024, max: 1 << 20 });
  if (v['rom-banks']) axes.romBanks = parseNumberAxis('--rom-banks', v['rom-banks'], { integer: true, min: 1, max: 1 << 16 });
  if (v['sram-banks']) axes.sramBanks = parseNumberAxis('--sram-banks', v['sram-banks'], { integer: true, min: 1, max: 1 << 16 });
  if (v['clock-mhz']) axes.clockMHz = parseNumberAxis('--clock-mhz', v['clock-mhz'], { integer: false, min: 1e-3, max: 1e5 });
  if (v.variant) axes.variants = parseVariantAxis('--variant', v.variant);
  const constraints: Constraints = {};
  if (v['max-area-mm2'] !== undefined) constraints.maxAreaMm2 = flagNumber('--max-area-mm2', v['max-area-mm2'], { above: 0 });
  if (v['max-latency-us'] !== undefined) constraints.maxLatencyUs = flagNumber('--max-latency-us', v['max-latency-us'], { above: 0 });
  if (v['min-accuracy'] !== undefined) constraints.minAccuracy = flagNumber('--min-accuracy', v['min-accuracy']);
  return { cfg, hardware, axes, constraints };
}

/** The chunks of a plan: index ranges of `size` points. */
export function chunksOf(plan: ExplorePlan, size: number): ChunkSpec[] {
  const n = countPoints(plan.axes);
  const geometry = geometryOf(plan.cfg.model);
  const out: ChunkSpec[] = [];
  for (let start = 0; start < n; start += size) out.push({ geometry, hardware: plan.hardware, axes: plan.axes, start, end: Math.min(n, start + size) });
  return out;
}

/** A chunk as a queue job: data only, the config without its file names (validated again on the worker). */
export function sweepJob(plan: ExplorePlan, c: ChunkSpec): SweepJob & { config: unknown } {
  const { name, description, model, variants, verify } = plan.cfg;
  const { results: _r, checkpoint: _c, ...geometryAndSeed } = model;
  void _r;
  void _c;
  return {
    kind: 'sweep-chunk',
    config: { name, description, model: { ...geometryAndSeed, checkpoint: null }, hardware: plan.hardware, variants, verify },
    axes: c.axes,
    start: c.start,
    end: c.end,
  } as unknown as SweepJob & { config: unknown };
}

/** Run the chunks on this machine's threads. */
async function runLocal(chunks: ChunkSpec[], threads: number, bar: PointsBar): Promise<ChunkResult[]> {
  // (a thread even for one: it runs the cost model about 4x faster than this tsx thread, sim/explore-pool.ts)
  const pool = new ChunkPool(threads, { inline: false });
  let done = 0;
  try {
    return await Promise.all(
      chunks.map(async (c) => {
        const r = await pool.run(c);
        done += c.end - c.start;
        bar.update(done, `${threads} thread${threads > 1 ? 's' : ''}`);
        return r;
      }),
    );
  } finally {
    await pool.close();
  }
}

/** The axes as the page lists them. */
function axesInWords(a: ExploreAxes): { name: string; column: string; values: string[] }[] {
  const words: Record<(typeof AXIS_ORDER)[number], [string, string, string[]]> = {
    nodes: ['technology', 'tech', a.nodes],
    arrays: ['array (rows x cols)', 'rowsxcols', a.arrays.map(([r, c]) => `${r}x${c}`)],
    dataflows: ['dataflow', 'dataflow', a.dataflows],
    bufferKB: ['buffer (KB each)', 'buffer_kb', a.bufferKB.map(String)],
    romBanks: ['ROM banks', 'rom_banks', a.romBanks.map(String)],
    sramBanks: ['SRAM banks', 'sram_banks', a.sramBanks.map(String)],
    clockMHz: ['clock (MHz)', 'clock_mhz', a.clockMHz.map(String)],
    variants: ['variant', 'variant', a.variants],
  };
  return AXIS_ORDER.map((k) => ({ name: words[k][0], column: words[k][1], values: words[k][2] }));
}

export async function main(argv: string[]): Promise<number> {
  const v = parseFlags(argv, FLAGS);
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (v.status) {
    if (!v.queue) throw new UsageError('--status', 'needs --queue URL (the Redis whose jobs to show)');
    redisOptions(v.queue);
    process.stdout.write(await queueStatus(v.queue));
    return 0;
  }
  const plan = planOf(v);
  if (!v.out) throw new UsageError('--out', 'is required', { hint: 'e.g. --out out/explore' });
  const out = resolve(v.out);
  checkOutputDir(out, '--out');
  const threadsFlag = v.threads === undefined ? null : flagNumber('--threads', v.threads, { integer: true, min: 1, max: 1024 });
  const size = v.chunk === undefined ? DEFAULT_CHUNK : flagNumber('--chunk', v.chunk, { integer: true, min: 1, max: 100_000 });
  if (v.queue) {
    redisOptions(v.queue);
    checkRedisClient();
  }
  // accuracy is the variant's measured one (the config's results), joined here, not on the workers
  const acc = accuracyOf(plan.cfg);
  const accuracy = new Map<string, Accuracy>([...acc.byVariant].map(([k, a]) => [k, { float: a.mean, integer: a.integer?.mean ?? null }]));
  if (plan.constraints.minAccuracy !== undefined && accuracy.size === 0)
    throw new UsageError('--min-accuracy', `${plan.cfg.name} has no measured accuracy (${acc.source})`, {
      hint: 'use a config with a checkpoint and its results, e.g. --config bert-l4-h128-v8k',
    });
  const n = countPoints(plan.axes);
  const chunks = chunksOf(plan, size);
  const threads = Math.min(chunks.length, threadsFlag ?? Math.min(availableParallelism(), Math.ceil(n / POINTS_PER_THREAD)));
  const where = v.queue ? `queue ${redact(v.queue)}` : `local, ${threads} thread${threads > 1 ? 's' : ''}`;
  console.error(`${plan.cfg.name}: ${n.toLocaleString('en-US')} points in ${chunks.length} chunks (${where})`);
  const bar = new PointsBar(n);
  const t0 = performance.now();
  let results: ChunkResult[];
  if (v.queue) {
    const jobs = chunks.map((c) => sweepJob(plan, c));
    const sizes = new Map(jobs.map((j, i) => [jobId(j), chunks[i].end - chunks[i].start]));
    let points = 0;
    const sub = await submitAndWait<ChunkResult>(v.queue, jobs, {
      onDone: (id) => (points += sizes.get(id) ?? 0),
      onProgress: (_f, _t, workers) => bar.update(points, `${workers} worker${workers === 1 ? '' : 's'}`),
    });
    if (sub.failed.length) {
      bar.end();
      console.error(`${sub.failed.length} of ${jobs.length} chunks failed; nothing written:\n${sub.failed.map((f) => `  ${f.id}: ${f.reason}`).join('\n')}`);
      return 1;
    }
    results = jobs.map((j) => sub.results.get(jobId(j))!);
  } else results = await runLocal(chunks, threads, bar);
  bar.end();
  const seconds = (performance.now() - t0) / 1000;
  const table = finishTable(joinChunks(results), accuracy, plan.constraints);
  const best = bestPoints(table, plan.constraints);
  const c = plan.constraints;
  const html = renderExplorePage({
    config: plan.cfg.name,
    columns: table.columns,
    rows: table.rows,
    axes: axesInWords(plan.axes),
    constraints: [
      ...(c.maxAreaMm2 !== undefined ? [{ label: `area <= ${c.maxAreaMm2} mm²`, column: 'area_mm2', limit: c.maxAreaMm2, kind: 'max' as const }] : []),
      ...(c.maxLatencyUs !== undefined
        ? [{ label: `latency <= ${c.maxLatencyUs} µs`, column: 'latency_us', limit: c.maxLatencyUs, kind: 'max' as const }]
        : []),
      ...(c.minAccuracy !== undefined ? [{ label: `accuracy >= ${c.minAccuracy}`, column: 'accuracy', limit: c.minAccuracy, kind: 'min' as const }] : []),
    ],
    best,
    engine: where,
    seconds,
    accuracySource: accuracy.size ? acc.source : null,
  });
  writeFilesAtomic(out, { 'explore.csv': tableCsv(table), 'explore.html': html }, { field: '--out' });
  const feasible = table.rows.filter((r) => r[table.columns.indexOf('feasible')] === 1).length;
  console.log(
    `${n.toLocaleString('en-US')} points in ${seconds.toFixed(1)} s (${Math.round(n / seconds).toLocaleString('en-US')} points/s), ` +
      `${feasible.toLocaleString('en-US')} meet the constraints -> ${resolve(out, 'explore.csv')}, ${resolve(out, 'explore.html')}`,
  );
  return 0;
}

if (isMain(import.meta.url)) runCli('sim/explore.ts', main);
