/**
 * explore.html: the page of a design-space exploration (sim/explore.ts), one self-contained file
 * (D3 charts rendered to inline SVG on the server by d3-node; no script, opens offline):
 *   1. Pareto fronts of area, energy and latency, one front per variant (every other point as a
 *      grey sample behind them), constraint limits drawn as dashed lines;
 *   2. the best point under each constraint (alone and all together) for each objective;
 *   3. small multiples: for each axis that varies, how each objective moves along it (the best and
 *      the median point of each value over every other axis, and their range);
 *   4. the axes and how the table was made.
 * It reads the exploration's table (explore.csv's columns and rows) and nothing of the simulator.
 */
import { frame, logTicks, type Frame } from './charts.js';
import { esc } from './html.js';

/** Okabe-Ito, colour-blind safe (as analysis/charts.ts), one per variant. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#000000', '#999999', '#F0E442'];

export interface ExplorePage {
  config: string;
  columns: string[];
  rows: (number | string)[][];
  /** The axes as given: name, values in words. */
  axes: { name: string; column: string; values: string[] }[];
  constraints: { label: string; column: string; limit: number; kind: 'max' | 'min' }[];
  best: { constraint: string; objective: string; row: number | null }[];
  /** How it ran: "local, 2 threads" or "queue redis://host:6379, 2 workers". */
  engine: string;
  seconds: number;
  /** Where the accuracy came from (null: none measured). */
  accuracySource: string | null;
}

type D3 = typeof import('d3');

const num = (x: number, d = 4): string => Number(x.toPrecision(d)).toLocaleString('en-US');

const LABEL: Record<string, string> = {
  area_mm2: 'area (mm²)',
  energy_uj: 'energy per inference (µJ)',
  latency_us: 'latency (µs)',
  accuracy: 'accuracy (dev score × 100)',
};

/** Log scale over positive values, padded a little, or linear when the values span less than 2x or touch 0. */
function scaleFor(d3: D3, values: number[], range: [number, number]): Scale {
  const lo = d3.min(values) ?? 0;
  const hi = d3.max(values) ?? 1;
  if (lo > 0 && hi / lo > 2)
    return d3
      .scaleLog()
      .domain([lo / 1.15, hi * 1.15])
      .range(range);
  const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
  return d3
    .scaleLinear()
    .domain([lo - pad, hi + pad])
    .range(range)
    .nice();
}

type Scale = import('d3').ScaleContinuousNumeric<number, number>;

/** Tick values a reader can take in: on a log scale charts.ts's logTicks (at most `most` labels), else d3's. */
function tickValues(s: Scale, n: number, most = Infinity): number[] {
  return 'base' in s ? logTicks(s.domain(), most) : s.ticks(n);
}

function axes(f: Frame, x: Scale, y: Scale, xl: string, yl: string): void {
  const fmtTick = (v: import('d3').NumberValue): string => num(Number(v), 3);
  f.g
    .append('g')
    .attr('transform', `translate(0,${f.h})`)
    .call(
      f.d3
        .axisBottom(x)
        .tickValues(tickValues(x, 8, Math.floor(f.w / 65)))
        .tickFormat(fmtTick),
    ); // (labels up to "200,000")
  f.g.append('g').call(f.d3.axisLeft(y).tickValues(tickValues(y, 8)).tickFormat(fmtTick));
  f.g
    .append('text')
    .attr('x', f.w / 2)
    .attr('y', f.h + 36)
    .attr('text-anchor', 'middle')
    .text(xl);
  f.g
    .append('text')
    .attr('transform', 'rotate(-90)')
    .attr('x', -f.h / 2)
    .attr('y', -58)
    .attr('text-anchor', 'middle')
    .text(yl);
}

/** At most `n` rows, evenly spread over the table (a deterministic sample). */
function sample(idx: number[], n: number): number[] {
  if (idx.length <= n) return idx;
  const step = idx.length / n;
  return Array.from({ length: n }, (_, i) => idx[Math.floor(i * step)]);
}

function frontChart(p: ExplorePage, xo: string, yo: string, flag: string, variants: string[]): string {
  const k = (c: string): number => p.columns.indexOf(c);
  const [xk, yk, fk, vk] = [k(xo), k(yo), k(flag), k('variant')];
  const f = frame(`${LABEL[yo].replace(/ \(.*/, '')} against ${LABEL[xo].replace(/ \(.*/, '')}: Pareto front per variant`, `front-${flag}`, {
    width: 620,
    height: 400,
    margin: { top: 26, right: 150, bottom: 48, left: 70 },
  });
  const all = p.rows.map((_, i) => i);
  const x = scaleFor(
    f.d3,
    all.map((i) => p.rows[i][xk] as number),
    [0, f.w],
  );
  const y = scaleFor(
    f.d3,
    all.map((i) => p.rows[i][yk] as number),
    [f.h, 0],
  );
  axes(f, x, y, LABEL[xo], LABEL[yo]);
  const bg = f.g.append('g').attr('class', 'others');
  for (const i of sample(
    all.filter((i) => p.rows[i][fk] !== 1),
    1500,
  ))
    bg.append('circle')
      .attr('cx', x(p.rows[i][xk] as number).toFixed(1))
      .attr('cy', y(p.rows[i][yk] as number).toFixed(1))
      .attr('r', 1.6)
      .attr('fill', '#c8c8c8');
  for (const c of p.constraints) {
    const s = c.column === xo ? x : c.column === yo ? y : null;
    if (!s) continue;
    const v = s(c.limit);
    const line = f.g.append('line').attr('stroke', '#B00').attr('stroke-dasharray', '5,3');
    if (c.column === xo) line.attr('x1', v).attr('x2', v).attr('y1', 0).attr('y2', f.h);
    else line.attr('x1', 0).attr('x2', f.w).attr('y1', v).attr('y2', v);
    f.g
      .append('text')
      .attr('x', c.column === xo ? v + 3 : 3)
      .attr('y', c.column === xo ? 10 : v - 3)
      .attr('fill', '#B00')
      .text(c.label);
  }
  variants.forEach((v, vi) => {
    const color = PALETTE[vi % PALETTE.length];
    const front = all.filter((i) => p.rows[i][vk] === v && p.rows[i][fk] === 1).sort((a, b) => (p.rows[a][xk] as number) - (p.rows[b][xk] as number));
    if (front.length === 0) return;
    const pts = front.map((i) => [x(p.rows[i][xk] as number), y(p.rows[i][yk] as number)] as [number, number]);
    // a staircase: between two front points nothing is better in both
    const d = pts.map(([px, py], j) => (j === 0 ? `M${px.toFixed(1)},${py.toFixed(1)}` : `H${px.toFixed(1)}V${py.toFixed(1)}`)).join('');
    f.g.append('path').attr('d', d).attr('fill', 'none').attr('stroke', color).attr('stroke-width', 1.5);
    const gs = f.g.append('g').attr('class', `front front-${v}`);
    front.forEach((i, j) => {
      gs.append('circle')
        .attr('cx', pts[j][0].toFixed(1))
        .attr('cy', pts[j][1].toFixed(1))
        .attr('r', 3)
        .attr('fill', color)
        .attr('stroke', '#000')
        .attr('stroke-width', 0.4)
        .append('title')
        .text(describe(p, i));
    });
  });
  const lg = f.g.append('g').attr('transform', `translate(${f.w + 14},0)`);
  variants.forEach((v, vi) => {
    const row = lg.append('g').attr('transform', `translate(0,${vi * 17})`);
    row
      .append('rect')
      .attr('width', 14)
      .attr('height', 3)
      .attr('y', 5)
      .attr('fill', PALETTE[vi % PALETTE.length]);
    row.append('text').attr('x', 19).attr('y', 10).text(v);
  });
  lg.append('circle')
    .attr('cx', 7)
    .attr('cy', variants.length * 17 + 7)
    .attr('r', 2)
    .attr('fill', '#c8c8c8');
  lg.append('text')
    .attr('x', 19)
    .attr('y', variants.length * 17 + 10)
    .text('other points');
  return f.d3n.svgString();
}

/** One point in words (hover titles, tables). */
function describe(p: ExplorePage, i: number): string {
  const r = p.rows[i];
  const v = (c: string): number | string => r[p.columns.indexOf(c)];
  return (
    `#${v('index')} ${v('variant')}, ${v('tech')}, ${v('rows')}x${v('cols')} ${String(v('dataflow')).toUpperCase()}, buffers ${v('buffer_kb')} KB, ` +
    `ROM banks ${v('rom_banks')}, SRAM banks ${v('sram_banks')}, ${v('clock_mhz')} MHz: area ${num(v('area_mm2') as number)} mm², ` +
    `energy ${num(v('energy_uj') as number)} µJ, latency ${num(v('latency_us') as number)} µs`
  );
}

/** For each value of an axis, the best and median of an objective over every other axis, and their range. */
function axisChart(p: ExplorePage, axis: ExplorePage['axes'][number], objective: string, id: string, first: boolean): string {
  const f = frame(first ? `${axis.name}` : '', id, { width: 250, height: 200, margin: { top: 20, right: 12, bottom: 65, left: 62 }, fontSize: 10 });
  const ok = p.columns.indexOf(objective);
  const groups = axis.values.map((val) => ({ val, ys: [] as number[] }));
  const at = new Map(axis.values.map((v, i) => [v, i]));
  const cols = axis.column.split('x').map((c) => p.columns.indexOf(c));
  for (const r of p.rows) {
    const key = cols.map((c) => String(r[c])).join('x');
    const gi = at.get(key);
    if (gi !== undefined && typeof r[ok] === 'number') groups[gi].ys.push(r[ok] as number);
  }
  for (const gr of groups) gr.ys.sort((a, b) => a - b);
  const x = f.d3.scalePoint<string>().domain(axis.values).range([0, f.w]).padding(0.5);
  const all = groups.flatMap((g) => (g.ys.length ? [g.ys[0], g.ys[g.ys.length - 1]] : []));
  const y = scaleFor(f.d3, all, [f.h, 0]);
  // every value labelled where the labels fit (slanted, one per 13 px), else every step-th
  const step = Math.ceil(axis.values.length / Math.floor(f.w / 13));
  const labels = f.g
    .append('g')
    .attr('transform', `translate(0,${f.h})`)
    .call(f.d3.axisBottom(x).tickValues(axis.values.filter((_, i) => i % step === 0)))
    .selectAll('text');
  if (axis.values.length > 4) labels.attr('transform', 'rotate(-45)').attr('dx', '-0.5em').attr('dy', '0.3em').attr('text-anchor', 'end');
  f.g.append('g').call(
    f.d3
      .axisLeft(y)
      .tickValues(tickValues(y, 4).length > 6 ? tickValues(y, 4).filter((_, i, a) => i % Math.ceil(a.length / 5) === 0) : tickValues(y, 4))
      .tickFormat((v) => num(Number(v), 2)),
  );
  f.g
    .append('text')
    .attr('transform', 'rotate(-90)')
    .attr('x', -f.h / 2)
    .attr('y', -50)
    .attr('text-anchor', 'middle')
    .text(LABEL[objective]);
  const med = (ys: number[]): number => ys[Math.floor((ys.length - 1) / 2)];
  const live = groups.filter((g) => g.ys.length > 0);
  for (const gr of live) {
    const cx = x(gr.val)!;
    f.g
      .append('line')
      .attr('x1', cx)
      .attr('x2', cx)
      .attr('y1', y(gr.ys[0]))
      .attr('y2', y(gr.ys[gr.ys.length - 1]))
      .attr('stroke', '#bbb')
      .attr('stroke-width', 4);
  }
  const line = (pick: (ys: number[]) => number, color: string, dash: string | null): void => {
    f.g
      .append('path')
      .attr('d', live.map((gr, i) => `${i ? 'L' : 'M'}${x(gr.val)!.toFixed(1)},${y(pick(gr.ys)).toFixed(1)}`).join(''))
      .attr('fill', 'none')
      .attr('stroke', color)
      .attr('stroke-width', 1.5)
      .attr('stroke-dasharray', dash);
    for (const gr of live)
      f.g
        .append('circle')
        .attr('cx', x(gr.val)!.toFixed(1))
        .attr('cy', y(pick(gr.ys)).toFixed(1))
        .attr('r', 2.5)
        .attr('fill', color)
        .append('title')
        .text(`${axis.name} ${gr.val}: ${num(pick(gr.ys))} ${LABEL[objective]} over ${gr.ys.length} points`);
  };
  line(med, '#E69F00', '4,2');
  line((ys) => ys[0], '#0072B2', null);
  return f.d3n.svgString();
}

function table(head: string[], rows: (string | number)[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

const CSS = `body{font-family:sans-serif;margin:1.5em 2em;max-width:1400px;color:#222}h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;
border-bottom:1px solid #ccc}
.grid{display:flex;flex-wrap:wrap;gap:12px}.grid svg{max-width:100%;height:auto}figure{margin:0}figcaption{font-size:.85em;color:#555;max-width:620px}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}th,td{border:1px solid #ccc;padding:3px 7px;text-align:left}th{background:#f0f0f0}
.multiples{display:grid;gap:4px 10px;align-items:end}
.multiples .head{font-weight:bold;font-size:.9em;text-align:center}.key span{display:inline-block;margin-right:1.2em}
.key i{display:inline-block;width:18px;height:3px;vertical-align:middle;margin-right:4px}`;

/** The page (a string of HTML). */
export function renderExplorePage(p: ExplorePage): string {
  const k = (c: string): number => p.columns.indexOf(c);
  const variants = [...new Set(p.rows.map((r) => String(r[k('variant')])))];
  const fronts = [
    frontChart(p, 'area_mm2', 'energy_uj', 'pareto_area_energy', variants),
    frontChart(p, 'area_mm2', 'latency_us', 'pareto_area_latency', variants),
    frontChart(p, 'energy_uj', 'latency_us', 'pareto_energy_latency', variants),
  ];
  if (k('pareto_area_accuracy') >= 0) fronts.push(accuracyChart(p));
  const objectives = ['area_mm2', 'energy_uj', 'latency_us', ...(k('accuracy') >= 0 ? ['accuracy'] : [])];
  const varying = p.axes.filter((a) => a.values.length > 1);
  const multiples = varying.length
    ? `<div class="multiples" style="grid-template-columns:repeat(${varying.length},250px)">` +
      objectives.map((o, oi) => varying.map((a, ai) => `<div>${axisChart(p, a, o, `axis-${ai}-${o}`, oi === 0)}</div>`).join('')).join('') +
      '</div>'
    : '<p>Every axis has one value: nothing varies.</p>';
  const bestRows = p.best.map((b) => {
    if (b.row === null) return [b.constraint, b.objective, 'no point meets it', '', '', '', ''];
    const r = p.rows[b.row];
    const v = (c: string): number | string => r[k(c)];
    return [
      b.constraint,
      `best ${LABEL[b.objective]?.replace(/ \(.*/, '') ?? b.objective}`,
      `#${v('index')} ${v('variant')}, ${v('tech')}, ${v('rows')}x${v('cols')} ${String(v('dataflow')).toUpperCase()}, ` +
        `${v('buffer_kb')} KB buffers, ${v('rom_banks')} ROM / ${v('sram_banks')} SRAM banks, ${v('clock_mhz')} MHz`,
      num(v('area_mm2') as number),
      num(v('energy_uj') as number),
      num(v('latency_us') as number),
      k('accuracy') >= 0 && typeof v('accuracy') === 'number' ? num(v('accuracy') as number, 3) : '—',
    ];
  });
  const feasible = p.rows.filter((r) => r[k('feasible')] === 1).length;
  const constraintsLine = p.constraints.length
    ? `${feasible.toLocaleString('en-US')} points meet every constraint (${esc(p.constraints.map((c) => c.label).join(', '))}).`
    : 'No constraints given.';
  const rate = num(p.rows.length / Math.max(p.seconds, 1e-9), 3);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Design-space exploration: ${esc(p.config)}</title><style>${CSS}</style></head>
<body>
<h1>Design-space exploration: ${esc(p.config)}, ${p.rows.length.toLocaleString('en-US')} points</h1>
<p>Every point is costed by this tool's analytic model (cycles from the schedule, area and energy from the technology tables);
${p.accuracySource ? `accuracy: ${esc(p.accuracySource)}` : 'accuracy: not measured for this config (no results), so no accuracy axis'}.
${constraintsLine}
Ran ${esc(p.engine)} in ${p.seconds.toFixed(1)} s (${rate} points/s). Every figure is in <code>explore.csv</code>.</p>
<section id="fronts"><h2>1. Pareto fronts per variant</h2>
<p>Each line joins the points of one variant that no other point of that variant beats on both objectives (explore.csv's
<code>pareto_*</code> flags); grey dots are a sample of the other points. Log scales; hover a point for its design.</p>
<div class="grid">${fronts.map((s) => `<figure>${s}</figure>`).join('\n')}</div></section>
<section id="best"><h2>2. Best point under each constraint</h2>
${table(['constraint', 'objective', 'design', 'area (mm²)', 'energy (µJ)', 'latency (µs)', 'accuracy'], bestRows)}</section>
<section id="axes"><h2>3. How each axis moves the objectives</h2>
<p class="key">For each value of an axis (columns), over every combination of the other axes:
<span><i style="background:#0072B2"></i>best point</span><span><i style="background:#E69F00"></i>median point (dashed)</span>
<span><i style="background:#bbb;height:8px"></i>range</span></p>
${multiples}</section>
<section id="space"><h2>4. The space</h2>
${table(
  ['axis', 'values'],
  p.axes.map((a) => [a.name, a.values.join(', ')]),
)}</section>
</body></html>
`;
}

/** Accuracy against area over every point (accuracy is a variant's, so the front picks the cheapest hardware per level). */
function accuracyChart(p: ExplorePage): string {
  const k = (c: string): number => p.columns.indexOf(c);
  const f = frame('Accuracy against area: Pareto front over every variant', 'front-accuracy', {
    width: 620,
    height: 400,
    margin: { top: 26, right: 150, bottom: 48, left: 70 },
  });
  const idx = p.rows.map((_, i) => i).filter((i) => typeof p.rows[i][k('accuracy')] === 'number');
  const x = scaleFor(
    f.d3,
    idx.map((i) => p.rows[i][k('area_mm2')] as number),
    [0, f.w],
  );
  const y = scaleFor(
    f.d3,
    idx.map((i) => p.rows[i][k('accuracy')] as number),
    [f.h, 0],
  );
  axes(f, x, y, LABEL.area_mm2, LABEL.accuracy);
  const onFront = (i: number): boolean => p.rows[i][k('pareto_area_accuracy')] === 1;
  for (const i of [
    ...sample(
      idx.filter((i) => !onFront(i)),
      1500,
    ),
    ...idx.filter(onFront),
  ])
    f.g
      .append('circle')
      .attr('cx', x(p.rows[i][k('area_mm2')] as number).toFixed(1))
      .attr('cy', y(p.rows[i][k('accuracy')] as number).toFixed(1))
      .attr('r', p.rows[i][k('pareto_area_accuracy')] === 1 ? 3.5 : 1.6)
      .attr('fill', p.rows[i][k('pareto_area_accuracy')] === 1 ? '#D55E00' : '#c8c8c8')
      .append('title')
      .text(describe(p, i));
  return f.d3n.svgString();
}
