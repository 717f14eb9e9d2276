/**
 * Charts of the trainer's outputs (same conventions as charts.ts): the pre-training loss curve with
 * held-out masked-token accuracy against the unigram baseline, the paper's Figure 1 (mean bias
 * change per term and layer) and its Figure 2 (dev score against training-set size).
 */
import { axisTitles, fmt, frame, legend, message, PALETTE, symbolType } from './charts.js';

export interface PretrainState {
  step: number;
  losses: { step: number; loss: number }[];
  evals: { step: number; mlmAccuracy: number; unigramAccuracy: number; loss: number; nspAccuracy?: number }[];
  provenance?: { sessions?: { fromStep: number; objective?: string }[] };
}

/** Steps where a session switched the objective (a session without one ran masked LM only). */
export function objectiveChanges(s: PretrainState): { step: number; objective: string }[] {
  const out: { step: number; objective: string }[] = [];
  let cur = 'mlm';
  for (const ses of s.provenance?.sessions ?? []) {
    const o = ses.objective ?? 'mlm';
    if (o !== cur) out.push({ step: ses.fromStep, objective: o });
    cur = o;
  }
  return out;
}

/** Training loss (every logged step) and held-out loss, against the step. */
export function lossCurveChart(s: PretrainState, title = 'Pre-training loss'): string {
  const f = frame(title, 'pretrain-loss');
  if (s.losses.length === 0) {
    message(f, 'no steps logged yet');
    return f.d3n.svgString();
  }
  const d3 = f.d3;
  const x = d3
    .scaleLinear()
    .domain([0, Math.max(s.step, ...s.losses.map((l) => l.step))])
    .range([0, f.w])
    .nice();
  const all = [...s.losses.map((l) => l.loss), ...s.evals.map((e) => e.loss)];
  const y = d3
    .scaleLinear()
    .domain([Math.min(...all) * 0.95, Math.max(...all) * 1.02])
    .range([f.h, 0])
    .nice();
  f.g.append('g').attr('transform', `translate(0,${f.h})`).call(d3.axisBottom(x).ticks(8));
  f.g.append('g').call(d3.axisLeft(y).ticks(6));
  const line = d3
    .line<{ step: number; loss: number }>()
    .x((d) => x(d.step))
    .y((d) => y(d.loss));
  f.g.append('path').datum(s.losses).attr('fill', 'none').attr('stroke', PALETTE[0]).attr('stroke-width', 1.5).attr('d', line);
  f.g
    .selectAll('path.eval')
    .data(s.evals)
    .enter()
    .append('path')
    .attr('class', 'eval')
    .attr('transform', (e) => `translate(${x(e.step)},${y(e.loss)})`)
    .attr('d', d3.symbol(symbolType(d3, 1), 50)())
    .attr('fill', PALETTE[1])
    .attr('stroke', '#000')
    .attr('stroke-width', 0.5)
    .append('title')
    .text(
      (e) =>
        `step ${e.step}: held-out loss ${fmt(e.loss, 4)}, ` +
        `masked-token accuracy ${(100 * e.mlmAccuracy).toFixed(1)}% (unigram ${(100 * e.unigramAccuracy).toFixed(1)}%)`,
    );
  const changes = objectiveChanges(s);
  for (const c of changes) {
    f.g
      .append('line')
      .attr('class', 'objective-change')
      .attr('x1', x(c.step))
      .attr('x2', x(c.step))
      .attr('y1', 0)
      .attr('y2', f.h)
      .attr('stroke', '#555')
      .attr('stroke-dasharray', '4 3');
    f.g
      .append('text')
      .attr('x', x(c.step) + 4)
      .attr('y', 12)
      .attr('font-size', 11)
      .text(`objective ${c.objective} from step ${c.step}`);
  }
  const nsp = changes.some((c) => c.objective.includes('nsp'));
  axisTitles(f, 'optimizer step (batch 16 sequences)', nsp ? 'cross-entropy (nats)' : 'masked-LM cross-entropy (nats)');
  legend(f, [
    { label: nsp ? 'training loss (masked LM, + next sentence where marked)' : 'training loss', color: PALETTE[0] },
    { label: 'held-out loss (masked LM)', color: PALETTE[1], symbol: 1 },
  ]);
  return f.d3n.svgString();
}

/** Held-out masked-token accuracy against the unigram baseline, per evaluation. */
export function mlmAccuracyChart(
  s: PretrainState,
  title = s.evals.some((e) => e.nspAccuracy !== undefined) ? 'Held-out masked-token and next-sentence accuracy' : 'Held-out masked-token accuracy',
): string {
  const f = frame(title, 'pretrain-accuracy');
  if (s.evals.length === 0) {
    message(f, 'no held-out evaluation yet');
    return f.d3n.svgString();
  }
  const d3 = f.d3;
  const x = d3
    .scaleLinear()
    .domain([0, Math.max(...s.evals.map((e) => e.step))])
    .range([0, f.w])
    .nice();
  const withNsp = s.evals.filter((e) => e.nspAccuracy !== undefined);
  const top = Math.max(...s.evals.map((e) => Math.max(e.mlmAccuracy, e.unigramAccuracy, e.nspAccuracy ?? 0)));
  const y = d3
    .scaleLinear()
    .domain([0, top * 100 * 1.15])
    .range([f.h, 0])
    .nice();
  f.g.append('g').attr('transform', `translate(0,${f.h})`).call(d3.axisBottom(x).ticks(8));
  f.g.append('g').call(d3.axisLeft(y).ticks(6));
  type Key = 'mlmAccuracy' | 'unigramAccuracy' | 'nspAccuracy';
  const series: { label: string; key: Key; color: string; symbol: number; evals: PretrainState['evals'] }[] = [
    { label: 'masked tokens: model', key: 'mlmAccuracy', color: PALETTE[0], symbol: 0, evals: s.evals },
    { label: 'masked tokens: unigram baseline', key: 'unigramAccuracy', color: PALETTE[5], symbol: 1, evals: s.evals },
  ];
  if (withNsp.length) series.push({ label: 'next sentence (chance 50%)', key: 'nspAccuracy', color: PALETTE[2], symbol: 2, evals: withNsp });
  for (const sr of series) {
    f.g
      .append('path')
      .datum(sr.evals)
      .attr('fill', 'none')
      .attr('stroke', sr.color)
      .attr('stroke-width', 1.5)
      .attr(
        'd',
        d3
          .line<PretrainState['evals'][number]>()
          .x((e) => x(e.step))
          .y((e) => y(100 * e[sr.key]!)),
      );
    f.g
      .selectAll(`path.p-${sr.key}`)
      .data(sr.evals)
      .enter()
      .append('path')
      .attr('class', `p-${sr.key}`)
      .attr('transform', (e) => `translate(${x(e.step)},${y(100 * e[sr.key]!)})`)
      .attr('d', d3.symbol(symbolType(d3, sr.symbol), 40)())
      .attr('fill', sr.color)
      .attr('stroke', '#000')
      .attr('stroke-width', 0.5)
      .append('title')
      .text((e) => `step ${e.step}: ${sr.label} ${(100 * e[sr.key]!).toFixed(2)}%`);
  }
  axisTitles(f, 'optimizer step', withNsp.length ? 'held-out accuracy (%)' : 'masked tokens predicted correctly (%)');
  legend(
    f,
    series.map((sr) => ({ label: sr.label, color: sr.color, symbol: sr.symbol })),
  );
  return f.d3n.svgString();
}

/** The paper's Figure 1: mean |b_F − b_0| per layer, one line per bias term. */
export function biasChangeChart(change: Record<string, number[]>, title = 'Bias change per term and layer (bitfit)'): string {
  const f = frame(title, 'bias-change');
  const terms = Object.keys(change);
  if (terms.length === 0) {
    message(f, 'no bias changes recorded');
    return f.d3n.svgString();
  }
  const d3 = f.d3;
  const layers = change[terms[0]].length;
  const x = d3
    .scalePoint<number>()
    .domain(Array.from({ length: layers }, (_, l) => l))
    .range([0, f.w])
    .padding(0.3);
  const y = d3
    .scaleLinear()
    .domain([0, Math.max(...terms.flatMap((t) => change[t])) * 1.1 || 1])
    .range([f.h, 0])
    .nice();
  f.g
    .append('g')
    .attr('transform', `translate(0,${f.h})`)
    .call(d3.axisBottom(x).tickFormat((l) => `layer ${l}`));
  f.g.append('g').call(
    d3
      .axisLeft(y)
      .ticks(6)
      .tickFormat((v) => Number(v).toExponential(1)),
  );
  terms.forEach((t, i) => {
    const pts = change[t].map((v, l) => ({ l, v }));
    f.g
      .append('path')
      .datum(pts)
      .attr('fill', 'none')
      .attr('stroke', PALETTE[i % PALETTE.length])
      .attr('stroke-width', 1.5)
      .attr(
        'd',
        d3
          .line<{ l: number; v: number }>()
          .x((p) => x(p.l)!)
          .y((p) => y(p.v)),
      );
    f.g
      .selectAll(`path.t${i}`)
      .data(pts)
      .enter()
      .append('path')
      .attr('class', `t${i}`)
      .attr('transform', (p) => `translate(${x(p.l)},${y(p.v)})`)
      .attr('d', d3.symbol(symbolType(d3, i), 40)())
      .attr('fill', PALETTE[i % PALETTE.length])
      .attr('stroke', '#000')
      .attr('stroke-width', 0.5)
      .append('title')
      .text((p) => `${t}, layer ${p.l}: ${p.v.toExponential(3)}`);
  });
  axisTitles(f, 'encoder layer', 'mean |b_F − b_0|');
  legend(
    f,
    terms.map((t, i) => ({ label: t, color: PALETTE[i % PALETTE.length], symbol: i })),
  );
  return f.d3n.svgString();
}

export interface SizeCurve {
  variant: string;
  /** One point per training-set size: mean ± sample std of the dev score over seeds (× 100). */
  points: { n: number; mean: number; std: number; seeds: number }[];
}

/**
 * The paper's Figure 2: dev score against training-set size (log axis), one line per variant, a
 * bar of ± one sample standard deviation over seeds at each point, and the constant prediction's
 * score as a dashed line where there is one.
 */
export function trainSizeChart(curves: SizeCurve[], opts: { task: string; metric: string; baseline?: number | null }): string {
  const f = frame(`${opts.task}: dev score against training-set size`, 'train-size');
  // a size of 0 (a run that did not record its training-set size) has no place on a log axis
  const drawable = (p: SizeCurve['points'][number]): boolean => Number.isFinite(p.mean) && p.n > 0;
  curves = curves.filter((c) => c.points.some(drawable));
  const baseline = typeof opts.baseline === 'number' && Number.isFinite(opts.baseline) ? opts.baseline : null;
  const pts = curves.flatMap((c) => c.points.filter(drawable));
  if (pts.length === 0) {
    message(f, 'no training-set sizes to compare');
    return f.d3n.svgString();
  }
  const d3 = f.d3;
  const ns = pts.map((p) => p.n);
  const x = d3
    .scaleLog()
    .domain([Math.min(...ns) / 1.3, Math.max(...ns) * 1.3])
    .range([0, f.w]);
  const lo = Math.min(...pts.map((p) => p.mean - p.std), baseline ?? Infinity);
  const hi = Math.max(...pts.map((p) => p.mean + p.std), baseline ?? -Infinity);
  const pad = Math.max(1, (hi - lo) * 0.1);
  const y = d3
    .scaleLinear()
    .domain([lo - pad, hi + pad])
    .range([f.h, 0])
    .nice();
  f.g
    .append('g')
    .attr('transform', `translate(0,${f.h})`)
    .call(
      d3
        .axisBottom(x)
        .tickValues([...new Set(ns)].sort((a, b) => a - b))
        .tickFormat((n) => Number(n).toLocaleString('en-US')),
    );
  f.g.append('g').call(d3.axisLeft(y).ticks(6));
  if (baseline !== null) {
    f.g
      .append('line')
      .attr('class', 'baseline')
      .attr('x1', 0)
      .attr('x2', f.w)
      .attr('y1', y(baseline))
      .attr('y2', y(baseline))
      .attr('stroke', '#555')
      .attr('stroke-dasharray', '4 3')
      .append('title')
      .text(`constant prediction: ${baseline.toFixed(1)}`);
    f.g
      .append('text')
      .attr('x', f.w - 4)
      .attr('y', y(baseline) - 4)
      .attr('text-anchor', 'end')
      .attr('fill', '#555')
      .text('constant prediction');
  }
  curves.forEach((c, i) => {
    const color = PALETTE[i % PALETTE.length];
    const ps = c.points.filter(drawable).sort((a, b) => a.n - b.n);
    f.g
      .append('path')
      .datum(ps)
      .attr('fill', 'none')
      .attr('stroke', color)
      .attr('stroke-width', 1.5)
      .attr(
        'd',
        d3
          .line<SizeCurve['points'][number]>()
          .x((p) => x(p.n))
          .y((p) => y(p.mean)),
      );
    for (const p of ps.filter((q) => q.seeds > 1)) {
      f.g
        .append('line')
        .attr('class', `err${i}`)
        .attr('x1', x(p.n))
        .attr('x2', x(p.n))
        .attr('y1', y(p.mean - p.std))
        .attr('y2', y(p.mean + p.std))
        .attr('stroke', color)
        .attr('stroke-width', 1.5);
    }
    f.g
      .selectAll(`path.v${i}`)
      .data(ps)
      .enter()
      .append('path')
      .attr('class', `v${i}`)
      .attr('transform', (p) => `translate(${x(p.n)},${y(p.mean)})`)
      .attr('d', d3.symbol(symbolType(d3, i), 50)())
      .attr('fill', color)
      .attr('stroke', '#000')
      .attr('stroke-width', 0.5)
      .append('title')
      .text(
        (p) =>
          `${c.variant}, ${p.n.toLocaleString('en-US')} examples: ` +
          `${p.mean.toFixed(1)}${p.seeds > 1 ? ` ± ${p.std.toFixed(1)} (${p.seeds} seeds)` : ' (1 seed)'}`,
      );
  });
  axisTitles(f, 'training examples (log scale)', `dev ${opts.metric} × 100 (mean ± std over seeds)`);
  legend(
    f,
    curves.map((c, i) => ({ label: c.variant, color: PALETTE[i % PALETTE.length], symbol: i })),
  );
  return f.d3n.svgString();
}
