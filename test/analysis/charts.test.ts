import { describe, it, expect } from 'vitest';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { readReport } from '../../formats/report-schema.js';
import {
  breakdownChart,
  costFrontChart,
  cyclesChart,
  heatmapChart,
  imageSizeChart,
  opKindChart,
  paretoFront,
  taskSwitchChart,
  tradeoffChart,
  frame,
} from '../../analysis/charts.js';
import { renderPage } from '../../analysis/html.js';

const report = readReport('fixtures/golden/report-rom-bert-tiny.json');
const bitfit = report.variants.find((v) => v.id === 'bitfit')!;

/** Round every number in an SVG to 1 decimal, as d3's own golden tests do, so goldens are stable. */
const rounded = (svg: string): string => svg.replace(/-?\d+\.\d+(e[-+]?\d+)?/g, (m) => String(Math.round(Number(m) * 10) / 10));

const charts: Record<string, () => string> = {
  'tradeoff-area': () => tradeoffChart(report, 'area'),
  'tradeoff-energy': () => tradeoffChart(report, 'energy'),
  'cost-front': () => costFrontChart(report),
  'breakdown-area': () => breakdownChart(report, 'areaMm2'),
  'breakdown-energy': () => breakdownChart(report, 'energyUJ'),
  'cycles-layers': () => cyclesChart(bitfit),
  'cycles-ops': () => opKindChart(bitfit),
  'bias-heatmap': () => heatmapChart(report),
  'task-switch': () => taskSwitchChart(report),
  'image-size': () => imageSizeChart(report),
};

describe('charts (golden SVG, numbers rounded)', () => {
  for (const [name, make] of Object.entries(charts)) {
    it(`${name} matches its golden SVG`, () => {
      const svg = rounded(make());
      const file = `test/analysis/golden/${name}.svg`;
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, svg);
      expect(existsSync(file), `${file} is missing: run UPDATE_GOLDEN=1 npx vitest run test/analysis`).toBe(true);
      expect(svg).toBe(readFileSync(file, 'utf8'));
      expect(svg).toMatch(/^<svg/);
      expect(svg).toMatch(/<title>/);
    });
  }
  it('says accuracy was not measured instead of plotting', () => {
    expect(tradeoffChart(report, 'area')).toMatch(/Accuracy not measured for rom-bert-tiny/);
  });
  it('plots accuracy with error bars when results exist', () => {
    const withAcc = {
      ...report,
      variants: report.variants.map((v, i) => ({
        ...v,
        accuracy: { mean: 0.6 + i / 100, std: 0.01, metric: 'accuracy', seeds: [1, 2, 3], task: 'rte', integer: null, perTask: [], from: v.id },
      })),
    };
    const svg = tradeoffChart(withAcc, 'energy');
    expect(svg).not.toMatch(/not measured/);
    expect((svg.match(/<line /g) ?? []).length).toBeGreaterThanOrEqual(report.variants.length);
  });
  it('finds the Pareto front of points minimized on both axes', () => {
    expect(
      paretoFront([
        { x: 1, y: 5 },
        { x: 2, y: 2 },
        { x: 3, y: 3 },
        { x: 5, y: 1 },
        { x: 2, y: 4 },
      ]),
    ).toEqual([0, 1, 3]);
  });
  it('renders a self-contained page with every section and no script or network reference', () => {
    const html = renderPage(report, report);
    for (const id of ['tradeoff', 'breakdown', 'cycles', 'heatmap', 'tasks', 'accuracy', 'provenance', 'compare']) expect(html).toContain(`id="${id}"`);
    expect(html).not.toMatch(/<script|(src|href)="https?:/);
    expect(html).toMatch(/Bit-exact/);
    // no measured accuracy (synthetic weights): one line says why, instead of two empty charts
    expect(html).toMatch(/<p class="no-accuracy">No accuracy to plot against area and energy: rom-bert-tiny has synthetic weights/);
    expect(html).not.toContain('id="tradeoff-area"');
    for (const c of report.technology.constants) expect(html).toContain(c.name);
  });
});

describe('the shared chart window', () => {
  it('draws each chart alone on the shared window: a frame started after another serialises only its own svg', () => {
    const a = frame('first', 'chart-a');
    a.g.append('circle').attr('r', 3);
    const first = a.d3n.svgString();
    const b = frame('second', 'chart-b');
    const second = b.d3n.svgString();
    expect(first).toMatch(/^<svg[^>]* id="chart-a"/);
    expect(first).toContain('<circle r="3"></circle>');
    expect(second).toMatch(/^<svg[^>]* id="chart-b"/);
    expect(second).not.toContain('chart-a');
    expect(second).not.toContain('circle');
  });
});
