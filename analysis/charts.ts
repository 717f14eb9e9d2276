/**
 * D3 charts rendered to SVG strings on the server (d3-node's jsdom). Every chart has axis titles
 * with units, a legend where series need one, hover titles with exact values, and uses the
 * Okabe-Ito colour-blind-safe palette with distinct marker shapes, so it reads in grey scale too.
 */
import { D3Node } from 'd3-node';
import type { ReportJson, ReportVariant } from '../formats/report-schema.js';

export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000', '#999999'];
const SYMBOLS = ['circle', 'square', 'triangle', 'diamond', 'cross', 'star', 'wye'] as const;

/** One colour per part of a breakdown, the same in every chart (area and energy share rom, writableSram, buffers, ...). */
export const PART_COLORS: Record<string, string> = {
  rom: '#0072B2',
  writableSram: '#E69F00',
  taskStorage: '#CC79A7',
  buffers: '#56B4E9',
  macArray: '#009E73',
  macs: '#009E73',
  nonlinear: '#F0E442',
  correction: '#D55E00',
  control: '#999999',
  dram: '#000000',
  leakage: '#882255',
};
const partColor = (p: string, i: number): string => PART_COLORS[p] ?? PALETTE[i % PALETTE.length];

/**
 * Tick values of a log axis that stay legible: the decades, plus 2 and 5 times them when the
 * domain spans fewer than three decades (and that gives at most `most` labels), never one label
 * per minor tick.
 */
export function logTicks(domain: readonly number[], most = Infinity): number[] {
  const [a, b] = [Math.min(...domain), Math.max(...domain)];
  const lo = Math.floor(Math.log10(a));
  const hi = Math.ceil(Math.log10(b));
  const ticks = (mult: number[]): number[] => {
    const out: number[] = [];
    for (let e = lo; e <= hi; e++)
      for (const m of mult) {
        const v = m * 10 ** e;
        if (v >= a && v <= b) out.push(Number(v.toPrecision(3)));
      }
    return out;
  };
  let out = ticks(hi - lo < 3 ? [1, 2, 5] : [1]);
  if (out.length > most) out = ticks([1]);
  return out.length >= 2 ? out : [a, b].map((v) => Number(v.toPrecision(2)));
}

/** Vertical positions for labels wanted at `ys` (pixels), at least `gap` apart, kept inside [0, h]. */
export function spreadLabels(ys: number[], gap: number, h: number): number[] {
  const order = ys.map((y, i) => ({ y, i })).sort((p, q) => p.y - q.y);
  const out = new Array<number>(ys.length);
  let prev = 0; // the first label sits at least `gap` below the top, so its text stays inside
  for (const o of order) {
    const y = Math.max(o.y, prev + gap);
    out[o.i] = y;
    prev = y;
  }
  // pushed past the bottom: shift the stack up
  const over = Math.max(0, prev - h);
  if (over > 0) for (let i = 0; i < out.length; i++) out[i] = Math.max(gap, out[i] - over);
  return out;
}

/**
 * Published BERT-base dev accuracy per variant (Ben-Zaken et al. 2021, Table 3); empty: not read from the primary source.
 * The stored copies searched (ar5iv and the arXiv LaTeX source of 2106.10199v5, the ACL Anthology page, the authors'
 * repository benzakenelad/BitFit) hold the abstract and introduction only, not the tables; no number is filled in from
 * a secondary source (docs/cost-model.md, "Sources of the constants").
 */
export const PUBLISHED_ACCURACY: Record<string, number> = {};
export const PUBLISHED_LABEL = 'published (Ben-Zaken et al. 2021), not measured by this tool';

const W = 720;
const H = 360;
const M = { top: 28, right: 170, bottom: 72, left: 72 };

// jsdom's elements: the lib "DOM" types are not part of this project's tsconfig.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Sel = import('d3').Selection<any, unknown, null, undefined>;

export interface Frame {
  d3n: InstanceType<typeof D3Node>;
  d3: typeof import('d3');
  g: Sel;
  svg: Sel;
  w: number;
  h: number;
}

/**
 * One jsdom window for every chart of the process (a window costs tens of milliseconds to make, and
 * a page draws more than a dozen charts): each frame removes the previous chart's <svg>, which its
 * svgString() has serialised, and draws its own, the only one svgString() can find.
 */
let canvas: { d3n: InstanceType<typeof D3Node>; svg?: Sel } | undefined;

/** A chart's size: the default 720 x 360 with room for a legend, or another (explore.html's small multiples). */
export interface FrameLayout {
  width?: number;
  height?: number;
  margin?: { top: number; right: number; bottom: number; left: number };
  /** Where the plot starts (default the margin's left; the title stays at the margin). */
  left?: number;
  fontSize?: number;
}

export function frame(title: string, id: string, layout: FrameLayout = {}): Frame {
  const { width = W, height = H, margin = M, fontSize = 11 } = layout;
  const left = layout.left ?? margin.left;
  canvas ??= { d3n: new D3Node() };
  canvas.svg?.remove();
  const d3n = canvas.d3n;
  const d3 = d3n.d3 as typeof import('d3');
  const svg = (canvas.svg = d3n.createSVG(width, height) as Sel)
    .attr('id', id)
    .attr('viewBox', `0 0 ${width} ${height}`)
    .attr('role', 'img')
    .attr('font-family', 'sans-serif')
    .attr('font-size', fontSize);
  svg.append('title').text(title);
  svg
    .append('text')
    .attr('x', margin.left)
    .attr('y', 16)
    .attr('font-size', fontSize + 2)
    .attr('font-weight', 'bold')
    .text(title);
  const g = svg.append('g').attr('transform', `translate(${left},${margin.top})`);
  return { d3n, d3, g, svg, w: width - left - margin.right, h: height - margin.top - margin.bottom };
}

export function axisTitles(f: Frame, x: string, y: string): void {
  f.g
    .append('text')
    .attr('x', f.w / 2)
    .attr('y', f.h + 60)
    .attr('text-anchor', 'middle')
    .text(x);
  f.g
    .append('text')
    .attr('transform', 'rotate(-90)')
    .attr('x', -f.h / 2)
    .attr('y', -56)
    .attr('text-anchor', 'middle')
    .text(y);
}

/** A legend right of the plot; `dx` is its distance from the plot (more where a right-hand axis is in the way). */
export function legend(f: Frame, items: { label: string; color: string; symbol?: number }[], dx = 16): void {
  const lg = f.g
    .append('g')
    .attr('class', 'legend')
    .attr('transform', `translate(${f.w + dx},0)`);
  items.forEach((it, i) => {
    const row = lg.append('g').attr('transform', `translate(0,${i * 18})`);
    if (it.symbol === undefined)
      row.append('rect').attr('width', 12).attr('height', 12).attr('fill', it.color).attr('stroke', '#000').attr('stroke-width', 0.5);
    else
      row
        .append('path')
        .attr('transform', 'translate(6,6)')
        .attr('d', f.d3.symbol(symbolType(f.d3, it.symbol), 64)())
        .attr('fill', it.color)
        .attr('stroke', '#000')
        .attr('stroke-width', 0.5);
    row.append('text').attr('x', 18).attr('y', 10).text(it.label);
  });
}

export function symbolType(d3: typeof import('d3'), i: number): import('d3').SymbolType {
  const m: Record<(typeof SYMBOLS)[number], import('d3').SymbolType> = {
    circle: d3.symbolCircle,
    square: d3.symbolSquare,
    triangle: d3.symbolTriangle,
    diamond: d3.symbolDiamond,
    cross: d3.symbolCross,
    star: d3.symbolStar,
    wye: d3.symbolWye,
  };
  return m[SYMBOLS[i % SYMBOLS.length]];
}

export function message(f: Frame, text: string): void {
  f.g.append('rect').attr('width', f.w).attr('height', f.h).attr('fill', '#f4f4f4').attr('stroke', '#999');
  f.g
    .append('text')
    .attr('class', 'no-data')
    .attr('x', f.w / 2)
    .attr('y', f.h / 2)
    .attr('text-anchor', 'middle')
    .attr('font-size', 13)
    .text(text);
}

export const fmt = (x: number, d = 3): string => Number(x.toPrecision(d)).toLocaleString('en-US');

/** Indices of the points on the lower-left Pareto front of (x, y), both minimized. */
export function paretoFront(pts: { x: number; y: number }[]): number[] {
  return pts
    .map((p, i) => ({ ...p, i }))
    .filter((p) => !pts.some((q) => (q.x <= p.x && q.y < p.y) || (q.x < p.x && q.y <= p.y)))
    .sort((a, b) => a.x - b.x)
    .map((p) => p.i);
}

/** Accuracy against a cost; when no variant has measured accuracy, says so instead of plotting. */
export function tradeoffChart(r: ReportJson, cost: 'area' | 'energy'): string {
  const title = cost === 'area' ? 'Accuracy against area' : 'Accuracy against energy per inference';
  const f = frame(title, `tradeoff-${cost}`);
  const measured = r.variants.filter((v) => v.accuracy !== null);
  if (measured.length === 0) {
    message(f, `Accuracy not measured for ${r.config.name} (${r.model.weights.kind} weights); published figures not read, none shown`);
    axisTitles(f, cost === 'area' ? 'area (mm²)' : 'energy per inference (µJ)', 'accuracy');
    return f.d3n.svgString();
  }
  const xs = measured.map((v) => (cost === 'area' ? v.areaMm2.total : v.energyUJ.total));
  const ys = measured.map((v) => v.accuracy!.mean);
  const x = f.d3
    .scaleLinear()
    .domain([0, (f.d3.max(xs) ?? 1) * 1.1])
    .range([0, f.w])
    .nice();
  const y = f.d3
    .scaleLinear()
    .domain([(f.d3.min(ys) ?? 0) - 0.05, (f.d3.max(ys) ?? 1) + 0.05])
    .range([f.h, 0])
    .nice();
  f.g.append('g').attr('transform', `translate(0,${f.h})`).call(f.d3.axisBottom(x));
  f.g.append('g').call(f.d3.axisLeft(y));
  measured.forEach((v, i) => {
    const px = x(xs[i]);
    const py = y(ys[i]);
    const sd = v.accuracy!.std;
    const band = r.uncertainty?.bands[v.id]?.[cost === 'area' ? 'areaMm2' : 'energyUJ'];
    if (band)
      f.g
        .append('line')
        .attr('class', 'band')
        .attr('x1', x(band[0]))
        .attr('x2', x(band[1]))
        .attr('y1', py)
        .attr('y2', py)
        .attr('stroke', PALETTE[i % PALETTE.length])
        .attr('stroke-width', 3)
        .attr('stroke-opacity', 0.5)
        .append('title')
        .text(`${v.id}: ${fmt(band[0], 4)}–${fmt(band[1], 4)} across the assumed constants' ranges`);
    f.g
      .append('line')
      .attr('x1', px)
      .attr('x2', px)
      .attr('y1', y(ys[i] - sd))
      .attr('y2', y(ys[i] + sd))
      .attr('stroke', '#333');
    f.g
      .append('path')
      .attr('transform', `translate(${px},${py})`)
      .attr('d', f.d3.symbol(symbolType(f.d3, i), 80)())
      .attr('fill', PALETTE[i % PALETTE.length])
      .append('title')
      .text(`${v.id}: ${fmt(xs[i], 5)} ${cost === 'area' ? 'mm²' : 'µJ'}, accuracy ${v.accuracy!.mean} ± ${sd}`);
  });
  axisTitles(f, cost === 'area' ? 'area (mm²)' : 'energy per inference (µJ)', 'accuracy (mean ± std over seeds)');
  legend(
    f,
    measured.map((v, i) => ({ label: v.id, color: PALETTE[i % PALETTE.length], symbol: i })),
  );
  return f.d3n.svgString();
}

/** Area against energy per inference, with the Pareto front (both minimized). */
export function costFrontChart(r: ReportJson): string {
  const f = frame('Area against energy per inference (Pareto front dashed)', 'cost-front');
  const pts = r.variants.map((v) => ({ x: v.areaMm2.total, y: v.energyUJ.total }));
  const bands = r.variants.map((v) => r.uncertainty?.bands[v.id]);
  const xsAll = pts.flatMap((p, i) => [p.x, ...(bands[i]?.areaMm2 ?? [])]);
  const ysAll = pts.flatMap((p, i) => [p.y, ...(bands[i]?.energyUJ ?? [])]);
  const x = f.d3
    .scaleLog()
    .domain([Math.min(...xsAll) / 1.3, Math.max(...xsAll) * 1.3])
    .range([0, f.w]);
  const y = f.d3
    .scaleLog()
    .domain([Math.min(...ysAll) / 1.3, Math.max(...ysAll) * 1.3])
    .range([f.h, 0]);
  f.g
    .append('g')
    .attr('transform', `translate(0,${f.h})`)
    .call(f.d3.axisBottom(x).tickValues(logTicks(x.domain())).tickFormat(f.d3.format('~s')));
  f.g.append('g').call(f.d3.axisLeft(y).tickValues(logTicks(y.domain())).tickFormat(f.d3.format('~s')));
  r.variants.forEach((v, i) => {
    const b = bands[i];
    if (!b) return;
    const g = f.g
      .append('g')
      .attr('class', 'band')
      .attr('stroke', PALETTE[i % PALETTE.length])
      .attr('stroke-opacity', 0.6)
      .attr('stroke-width', 1.5);
    g.append('line').attr('x1', x(b.areaMm2[0])).attr('x2', x(b.areaMm2[1])).attr('y1', y(pts[i].y)).attr('y2', y(pts[i].y));
    g.append('line').attr('x1', x(pts[i].x)).attr('x2', x(pts[i].x)).attr('y1', y(b.energyUJ[0])).attr('y2', y(b.energyUJ[1]));
    g.append('title').text(
      `${v.id}: area ${fmt(b.areaMm2[0], 4)}–${fmt(b.areaMm2[1], 4)} mm², ` +
        `energy ${fmt(b.energyUJ[0], 4)}–${fmt(b.energyUJ[1], 4)} µJ across the assumed constants' ranges`,
    );
  });
  const front = paretoFront(pts);
  f.g
    .append('path')
    .attr('class', 'pareto')
    .attr('fill', 'none')
    .attr('stroke', '#000')
    .attr('stroke-dasharray', '5,4')
    .attr(
      'd',
      f.d3
        .line<number>()
        .x((i) => x(pts[i].x))
        .y((i) => y(pts[i].y))(front),
    );
  r.variants.forEach((v, i) => {
    f.g
      .append('path')
      .attr('transform', `translate(${x(pts[i].x)},${y(pts[i].y)})`)
      .attr('d', f.d3.symbol(symbolType(f.d3, i), 80)())
      .attr('fill', PALETTE[i % PALETTE.length])
      .attr('stroke', '#000')
      .attr('stroke-width', 0.5)
      .append('title')
      .text(`${v.id}: ${fmt(pts[i].x, 5)} mm², ${fmt(pts[i].y, 5)} µJ`);
  });
  // labels: right of the points' column, spread so none collide, each joined to its point
  const want = pts.map((p) => y(p.y));
  const at = spreadLabels(want, 13, f.h);
  const lx = pts.map((p) => x(p.x) + 10);
  r.variants.forEach((v, i) => {
    const tx = Math.min(lx[i] + 24, f.w - 4);
    f.g
      .append('line')
      .attr('class', 'leader')
      .attr('x1', x(pts[i].x) + 4)
      .attr('y1', want[i])
      .attr('x2', tx - 2)
      .attr('y2', at[i])
      .attr('stroke', '#888')
      .attr('stroke-width', 0.5);
    f.g
      .append('text')
      .attr('class', 'point-label')
      .attr('x', tx)
      .attr('y', at[i] + 4)
      .text(v.id);
  });
  axisTitles(f, 'area (mm², log scale)', 'energy per inference (µJ, log scale)');
  legend(
    f,
    r.variants.map((v, i) => ({ label: v.id, color: PALETTE[i % PALETTE.length], symbol: i })),
  );
  return f.d3n.svgString();
}

/** Stacked bars of a breakdown (area or energy parts) per variant. */
export function breakdownChart(r: ReportJson, which: 'areaMm2' | 'energyUJ'): string {
  const unit = which === 'areaMm2' ? 'mm²' : 'µJ';
  const f = frame(which === 'areaMm2' ? 'Area by part' : 'Energy per inference by part', `breakdown-${which}`);
  const parts = [...new Set(r.variants.flatMap((v) => Object.keys(v[which]).filter((k) => k !== 'total')))];
  const x = f.d3
    .scaleBand()
    .domain(r.variants.map((v) => v.id))
    .range([0, f.w])
    .padding(0.2);
  const max = f.d3.max(r.variants, (v) => v[which].total) ?? 1;
  const y = f.d3.scaleLinear().domain([0, max]).range([f.h, 0]).nice();
  f.g
    .append('g')
    .attr('transform', `translate(0,${f.h})`)
    .call(f.d3.axisBottom(x))
    .selectAll('text')
    .attr('transform', 'rotate(-20)')
    .attr('text-anchor', 'end');
  f.g.append('g').call(f.d3.axisLeft(y).ticks(6).tickFormat(f.d3.format('~s')));
  for (const v of r.variants) {
    let acc = 0;
    parts.forEach((p, i) => {
      const val = v[which][p] ?? 0;
      if (val <= 0) return;
      f.g
        .append('rect')
        .attr('x', x(v.id)!)
        .attr('width', x.bandwidth())
        .attr('y', y(acc + val))
        .attr('height', Math.max(0, y(acc) - y(acc + val)))
        .attr('fill', partColor(p, i))
        .attr('stroke', '#fff')
        .attr('stroke-width', 0.5)
        .append('title')
        .text(`${v.id} ${p}: ${fmt(val, 5)} ${unit}`);
      acc += val;
    });
  }
  axisTitles(f, 'variant', `${which === 'areaMm2' ? 'area' : 'energy per inference'} (${unit})`);
  legend(
    f,
    parts.map((p, i) => ({ label: p, color: partColor(p, i) })),
  );
  return f.d3n.svgString();
}

/** Cycles per layer (bars) and utilisation (points) of one variant, and cycles per op kind. */
export function cyclesChart(v: ReportVariant): string {
  const f = frame(`Cycles per layer and utilisation (${v.id})`, 'cycles-layers');
  const rows = v.cyclesByLayer;
  const x = f.d3
    .scaleBand()
    .domain(rows.map((r) => r.layer))
    .range([0, f.w])
    .padding(0.15);
  const y = f.d3
    .scaleLinear()
    .domain([0, f.d3.max(rows, (r) => r.cycles) ?? 1])
    .range([f.h, 0])
    .nice();
  const u = f.d3.scaleLinear().domain([0, 1]).range([f.h, 0]);
  f.g.append('g').attr('transform', `translate(0,${f.h})`).call(f.d3.axisBottom(x));
  f.g.append('g').call(f.d3.axisLeft(y).ticks(6).tickFormat(f.d3.format('~s')));
  f.g.append('g').attr('transform', `translate(${f.w},0)`).call(f.d3.axisRight(u).ticks(5, '%'));
  for (const r of rows) {
    f.g
      .append('rect')
      .attr('x', x(r.layer)!)
      .attr('width', x.bandwidth())
      .attr('y', y(r.cycles))
      .attr('height', f.h - y(r.cycles))
      .attr('fill', PALETTE[0])
      .append('title')
      .text(`layer ${r.layer}: ${r.cycles.toLocaleString('en-US')} cycles, utilisation ${(100 * r.utilization).toFixed(1)}%`);
    f.g
      .append('path')
      .attr('transform', `translate(${x(r.layer)! + x.bandwidth() / 2},${u(r.utilization)})`)
      .attr('d', f.d3.symbol(f.d3.symbolDiamond, 50)())
      .attr('fill', PALETTE[1])
      .attr('stroke', '#000')
      .attr('stroke-width', 0.5);
  }
  axisTitles(f, 'layer (embeddings, encoder layers, head)', 'cycles added to the latency');
  f.g
    .append('text')
    .attr('transform', 'rotate(90)')
    .attr('x', f.h / 2)
    .attr('y', -f.w - 40)
    .attr('text-anchor', 'middle')
    .text('MAC utilisation');
  // right of the utilisation axis and its title
  legend(
    f,
    [
      { label: 'cycles', color: PALETTE[0] },
      { label: 'utilisation', color: PALETTE[1], symbol: 3 },
    ],
    60,
  );
  return f.d3n.svgString();
}

export function opKindChart(v: ReportVariant): string {
  const f = frame(`Cycles per op type (${v.id})`, 'cycles-ops');
  const kinds = Object.entries(v.cyclesByOpKind).filter(([, c]) => c > 0);
  const x = f.d3
    .scaleLinear()
    .domain([0, f.d3.max(kinds, (k) => k[1]) ?? 1])
    .range([0, f.w])
    .nice();
  const y = f.d3
    .scaleBand()
    .domain(kinds.map((k) => k[0]))
    .range([0, f.h])
    .padding(0.2);
  f.g
    .append('g')
    .attr('transform', `translate(0,${f.h})`)
    .call(f.d3.axisBottom(x).ticks(6).tickFormat(f.d3.format('~s')));
  f.g.append('g').call(f.d3.axisLeft(y));
  kinds.forEach(([k, c], i) => {
    f.g
      .append('rect')
      .attr('y', y(k)!)
      .attr('height', y.bandwidth())
      .attr('width', x(c))
      .attr('fill', PALETTE[i % PALETTE.length])
      .append('title')
      .text(`${k}: ${c.toLocaleString('en-US')} cycles`);
  });
  axisTitles(f, 'cycles added to the latency', 'op type');
  return f.d3n.svgString();
}

/** Bias-change heatmap (bias type x layer), drawn only when results hold it. */
export function heatmapChart(r: ReportJson): string {
  const f = frame('Mean |b_F − b_0| per bias type and layer (paper Fig. 1)', 'bias-heatmap');
  message(f, `No fine-tuning results with bias changes for ${r.config.name}: nothing to plot`);
  return f.d3n.svgString();
}

/** On-chip area against the number of stored task images, with break-even points. */
export function taskSwitchChart(r: ReportJson, maxTasks = 64): string {
  const f = frame('On-chip area against task images stored', 'task-switch');
  const n = f.d3.range(1, maxTasks + 1);
  // designs that store task images grow by one image per task; full-ft and dram-stream keep theirs off chip
  const stores = (v: ReportVariant): boolean => v.id !== 'full-ft' && v.id !== 'dram-stream';
  const areaAt = (v: ReportVariant, k: number): number => (stores(v) ? v.areaMm2.total - v.areaMm2.taskStorage + k * v.perTaskAreaMm2 : v.areaMm2.total);
  const all = r.variants.flatMap((v) => n.map((k) => areaAt(v, k)));
  const x = f.d3.scaleLinear().domain([1, maxTasks]).range([0, f.w]);
  const y = f.d3
    .scaleLog()
    .domain([f.d3.min(all)! / 1.3, f.d3.max(all)! * 1.3])
    .range([f.h, 0]);
  f.g.append('g').attr('transform', `translate(0,${f.h})`).call(f.d3.axisBottom(x));
  f.g.append('g').call(f.d3.axisLeft(y).tickValues(logTicks(y.domain())).tickFormat(f.d3.format('~s')));
  r.variants.forEach((v, i) => {
    f.g
      .append('path')
      .attr('fill', 'none')
      .attr('stroke', PALETTE[i % PALETTE.length])
      .attr('stroke-width', 2)
      .attr('stroke-dasharray', stores(v) ? null : '6,3')
      .attr(
        'd',
        f.d3
          .line<number>()
          .x((k) => x(k))
          .y((k) => y(areaAt(v, k)))(n),
      )
      .append('title')
      .text(
        `${v.id}: ${fmt(v.perTaskAreaMm2, 4)} mm² per stored task image (${v.taskImageBytes.toLocaleString('en-US')} B); ` +
          `switch ${v.taskSwitch.cycles.toLocaleString('en-US')} cycles, ${fmt(v.taskSwitch.energyUJ, 4)} µJ`,
      );
  });
  for (const ref of ['full-ft', 'dram-stream']) {
    const rv = r.variants.find((v) => v.id === ref);
    const b = r.variants.find((v) => v.id === 'bitfit');
    if (!rv || !b || b.perTaskAreaMm2 <= 0) continue;
    const k = (rv.areaMm2.total - (b.areaMm2.total - b.areaMm2.taskStorage)) / b.perTaskAreaMm2;
    if (k >= 1 && k <= maxTasks) {
      f.g
        .append('circle')
        .attr('class', 'break-even')
        .attr('cx', x(k))
        .attr('cy', y(rv.areaMm2.total))
        .attr('r', 5)
        .attr('fill', 'none')
        .attr('stroke', '#000')
        .attr('stroke-width', 2)
        .append('title')
        .text(`bitfit reaches ${ref}'s area at ${k.toFixed(1)} stored task images`);
    } else {
      f.g
        .append('text')
        .attr('class', 'break-even')
        .attr('x', 4)
        .attr('y', ref === 'full-ft' ? 14 : 28)
        .text(`bitfit vs ${ref}: break-even at ${k > 0 ? k.toFixed(0) : 'no'} stored task images${k > maxTasks ? ' (off the chart)' : ''}`);
    }
  }
  axisTitles(f, 'task images stored on chip', 'on-chip area (mm², log scale)');
  legend(
    f,
    r.variants.map((v, i) => ({ label: v.id, color: PALETTE[i % PALETTE.length] })),
  );
  return f.d3n.svgString();
}

/** Task image size per variant (log scale). */
export function imageSizeChart(r: ReportJson): string {
  const f = frame('Task image size per variant', 'image-size');
  const x = f.d3
    .scaleBand()
    .domain(r.variants.map((v) => v.id))
    .range([0, f.w])
    .padding(0.2);
  const y = f.d3
    .scaleLog()
    .domain([Math.max(1, f.d3.min(r.variants, (v) => v.taskImageBytes)! / 2), f.d3.max(r.variants, (v) => v.taskImageBytes)! * 2])
    .range([f.h, 0]);
  f.g
    .append('g')
    .attr('transform', `translate(0,${f.h})`)
    .call(f.d3.axisBottom(x))
    .selectAll('text')
    .attr('transform', 'rotate(-20)')
    .attr('text-anchor', 'end');
  f.g.append('g').call(f.d3.axisLeft(y).tickValues(logTicks(y.domain())).tickFormat(f.d3.format('~s')));
  r.variants.forEach((v, i) => {
    f.g
      .append('rect')
      .attr('x', x(v.id)!)
      .attr('width', x.bandwidth())
      .attr('y', y(v.taskImageBytes))
      .attr('height', f.h - y(v.taskImageBytes))
      .attr('fill', PALETTE[i % PALETTE.length])
      .append('title')
      .text(`${v.id}: ${v.taskImageBytes.toLocaleString('en-US')} bytes`);
  });
  axisTitles(f, 'variant', 'task image (bytes, log scale)');
  return f.d3n.svgString();
}

/**
 * Tornado chart of one headline ratio: per assumed constant (most influential first, the report's
 * order), a bar from the ratio with the constant at its low end to the ratio at its high end,
 * around the base value; the dashed line at 1 is where the conclusion would flip.
 */
export function tornadoChart(r: ReportJson, id: string, top = 12): string {
  const f = frame(`What moves ${id}`, `tornado-${id.replace(/[^a-z-]+/gi, '-').toLowerCase()}`, { left: 150 });
  const u = r.uncertainty;
  const h = u?.headline.find((x) => x.id === id);
  if (!u || !h) {
    message(f, 'This report has no uncertainty analysis (written before it existed)');
    return f.d3n.svgString();
  }
  const rows = u.constants
    .map((c) => ({ c, lo: c.ratios[id][0], hi: c.ratios[id][1] }))
    .filter((x) => x.lo !== x.hi)
    .sort((a, b) => Math.abs(Math.log(b.hi / b.lo)) - Math.abs(Math.log(a.hi / a.lo)))
    .slice(0, top);
  const vals = [h.base, ...rows.flatMap((x) => [x.lo, x.hi])];
  const x = f.d3
    .scaleLinear()
    .domain([Math.min(...vals, h.base * 0.9), Math.max(...vals, h.base * 1.1)])
    .range([0, f.w])
    .nice();
  const y = f.d3
    .scaleBand()
    .domain(rows.map((x) => x.c.name))
    .range([0, f.h])
    .padding(0.2);
  f.g.append('g').attr('transform', `translate(0,${f.h})`).call(f.d3.axisBottom(x).ticks(6));
  f.g.append('g').call(f.d3.axisLeft(y).tickSize(0)).selectAll('text').attr('font-size', 10);
  for (const row of rows) {
    const [a, b] = [Math.min(row.lo, row.hi), Math.max(row.lo, row.hi)];
    f.g
      .append('rect')
      .attr('x', x(a))
      .attr('width', Math.max(1, x(b) - x(a)))
      .attr('y', y(row.c.name)!)
      .attr('height', y.bandwidth())
      .attr('fill', row.lo < row.hi ? PALETTE[0] : PALETTE[1])
      .append('title')
      .text(`${row.c.name} ${fmt(row.c.low, 4)} → ${fmt(row.c.high, 4)} ${row.c.unit}: ${id} ${fmt(row.lo, 4)} → ${fmt(row.hi, 4)}`);
  }
  f.g.append('line').attr('x1', x(h.base)).attr('x2', x(h.base)).attr('y1', 0).attr('y2', f.h).attr('stroke', '#000');
  if (x.domain()[0] <= 1 && x.domain()[1] >= 1)
    f.g
      .append('line')
      .attr('class', 'flip')
      .attr('x1', x(1))
      .attr('x2', x(1))
      .attr('y1', 0)
      .attr('y2', f.h)
      .attr('stroke', '#a00')
      .attr('stroke-dasharray', '5,4');
  axisTitles(f, `${id} (base ${fmt(h.base, 3)}; range ${fmt(h.low, 3)}–${fmt(h.high, 3)})`, '');
  legend(f, [
    { label: 'ratio rises with the constant', color: PALETTE[0] },
    { label: 'ratio falls with the constant', color: PALETTE[1] },
  ]);
  return f.d3n.svgString();
}
