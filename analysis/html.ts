/**
 * The design-review page: one self-contained HTML file (inline SVG and CSS, no script, no network)
 * with every chart and table of a report, optionally compared with a second report.
 */
import type { ReportJson } from '../formats/report-schema.js';
import {
  breakdownChart,
  costFrontChart,
  cyclesChart,
  heatmapChart,
  imageSizeChart,
  opKindChart,
  taskSwitchChart,
  tornadoChart,
  tradeoffChart,
} from './charts.js';
import { COSTED_VARIANTS, variantInfo } from '../formats/variants.js';

export const esc = (s: unknown): string => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const num = (x: number, d = 4): string => Number(x.toPrecision(d)).toLocaleString('en-US');

function table(head: string[], rows: (string | number)[][], cls = ''): string {
  return `<table class="${cls}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function chart(svg: string, caption: string): string {
  return `<figure class="chart">${svg}<figcaption>${esc(caption)}</figcaption></figure>`;
}

/**
 * What a variant can change per task, and where it keeps it: bias terms (and the head) in bias SRAM,
 * random weights in a patch memory or SRAM rows, every weight in SRAM, or, for dram-stream, nothing
 * on chip (every parameter is read from DRAM).
 */
export function writableOnChip(v: ReportJson['variants'][number]): string {
  const model = (COSTED_VARIANTS as readonly string[]).includes(v.id) ? variantInfo(v.id as (typeof COSTED_VARIANTS)[number]).costModel : null;
  const n = v.writableParams.toLocaleString('en-US');
  switch (model) {
    case 'rom':
      return `${n} bias terms (SRAM)`;
    case 'patch':
      return `${n} weights (patch memory)`;
    case 'sram-rows':
      return `${n} weights (SRAM rows)`;
    case 'sram-weights':
      return `${n} weights and biases (SRAM)`;
    case 'dram-stream':
      return '0 on chip (all in DRAM)';
    default:
      return n;
  }
}

function summary(r: ReportJson): string {
  return table(
    [
      'variant',
      'writable params on chip (per task)',
      'task image (B)',
      'area (mm²)',
      'energy (µJ)',
      'latency (µs)',
      'inferences/s',
      'switch cycles',
      'switch (µJ)',
      'accuracy',
    ],
    r.variants.map((v) => [
      v.id,
      writableOnChip(v),
      v.taskImageBytes,
      num(v.areaMm2.total),
      num(v.energyUJ.total),
      num(v.latencyUs),
      num(v.inferencesPerS),
      v.taskSwitch.cycles,
      num(v.taskSwitch.energyUJ),
      v.accuracy ? `${v.accuracy.mean} ± ${v.accuracy.seeds.length > 1 ? v.accuracy.std : '—'}` : 'not measured',
    ]),
  );
}

/** "128x128 OS": the array's size and dataflow. */
const arrayOf = (r: ReportJson): string => `${r.hardware.array.rows}x${r.hardware.array.cols} ${r.hardware.array.dataflow.toUpperCase()}`;

function verifyBlock(r: ReportJson): string {
  const v = r.verify;
  if (!v) return '<p>Not verified in this run (<code>--no-verify</code>).</p>';
  const first = v.firstMismatch
    ? `; first mismatch ${esc(v.firstMismatch.tensor)}[${v.firstMismatch.index}]: datapath ${v.firstMismatch.datapath}, reference ${v.firstMismatch.reference}`
    : '';
  return (
    `<p class="${v.bitExact ? 'ok' : 'bad'}"><strong>${v.bitExact ? 'Bit-exact' : 'MISMATCH'}</strong>: ` +
    `the integer datapath (${esc(v.gemmEngine)}) and the TensorFlow.js reference (backend ${esc(v.backend)}) agree on ${v.tensorsCompared} tensors, ` +
    `${v.elementsCompared.toLocaleString('en-US')} elements, ${v.mismatches} mismatches (images of variant ${esc(v.variant)})${first}. ` +
    'Measured by this tool.</p>'
  );
}

function provenance(r: ReportJson): string {
  const p = r.provenance;
  return (
    table(
      ['field', 'value'],
      [
        ['config', `${r.config.name} (${r.config.file})`],
        ['config sha256', r.config.sha256],
        ['git commit', p.gitCommit],
        ['command', p.command],
        ['time', p.time],
        ['tool', `${p.tool}, integer spec v${p.specVersion}, node ${p.node}`],
        [
          'model',
          `${r.model.layers} layers, hidden ${r.model.hidden}, ${r.model.heads} heads, FFN ${r.model.ffn}, sequence ${r.model.seqLen}, ` +
            `${r.model.params.toLocaleString('en-US')} parameters; weights: ${r.model.weights.kind}` +
            (r.model.weights.seed !== undefined ? ` (seed ${r.model.weights.seed})` : ''),
        ],
        ['hardware', `${arrayOf(r)} array at ${r.hardware.clockMHz} MHz, technology ${r.technology.node}`],
        ...Object.entries(r.sources).map(([k, v]) => [`source of ${k}`, v]),
      ],
    ) +
    `<h3>Technology constants used (${esc(r.technology.node)}, ${esc(r.technology.file.split('/').slice(-3).join('/'))})</h3>` +
    table(
      ['constant', 'value', 'unit', 'kind [range]', 'source', 'formula'],
      r.technology.constants.map((c) => [c.name, c.value, c.unit, c.kind + (c.range ? ` [${c.range[0]}, ${c.range[1]}]` : ''), c.source, c.formula ?? '']),
      'sources',
    ) +
    `<h3>Cost formulas</h3>` +
    table(['quantity', 'expression'], Object.entries(r.technology.formulas))
  );
}

function compareBlock(a: ReportJson, b: ReportJson): string {
  const ids = a.variants.map((v) => v.id).filter((id) => b.variants.some((w) => w.id === id));
  const rows: (string | number)[][] = [];
  for (const id of ids) {
    const va = a.variants.find((v) => v.id === id)!;
    const vb = b.variants.find((v) => v.id === id)!;
    for (const [label, fa, fb] of [
      ['area (mm²)', va.areaMm2.total, vb.areaMm2.total],
      ['energy (µJ)', va.energyUJ.total, vb.energyUJ.total],
      ['latency (µs)', va.latencyUs, vb.latencyUs],
      ['task image (B)', va.taskImageBytes, vb.taskImageBytes],
    ] as [string, number, number][]) {
      rows.push([id, label, num(fa), num(fb), `${fb >= fa ? '+' : ''}${num(fb - fa)}`, fa ? `${(((fb - fa) / fa) * 100).toFixed(1)}%` : '']);
    }
  }
  const where = (x: ReportJson): string => `${esc(arrayOf(x))} at ${esc(x.technology.node)}, commit ${esc(x.provenance.gitCommit.slice(0, 10))}`;
  const costFrontB = costFrontChart(b).replace('id="cost-front"', 'id="cost-front-b"');
  const energyB = breakdownChart(b, 'energyUJ').replace('id="breakdown-energyUJ"', 'id="breakdown-energy-b"');
  return `<section id="compare"><h2>Comparison: ${esc(a.config.name)} (A) and ${esc(b.config.name)} (B)</h2>
<p>A: ${where(a)}. B: ${where(b)}.</p>
${table(['variant', 'figure', 'A', 'B', 'B − A', 'change'], rows)}
<div class="grid">${chart(costFrontB, 'B: area against energy per inference')}${chart(energyB, 'B: energy per inference by part')}</div>
</section>`;
}

function uncertaintyBlock(r: ReportJson): string {
  const u = r.uncertainty;
  if (!u) return '<section id="uncertainty"><h2>1b. Uncertainty</h2><p>This report has no uncertainty analysis (written before it existed).</p></section>';
  const f = (x: number): string => num(x, 3);
  return `<section id="uncertainty"><h2>1b. Uncertainty: which conclusions survive every assumption</h2>
<p>${esc(u.method)}.</p>
${table(
  ['headline ratio', 'value', 'lowest', 'highest', 'conclusion'],
  u.headline.map((h) => [
    h.id,
    f(h.base),
    f(h.low),
    f(h.high),
    h.survives ? `holds across every range (${h.base < 1 ? `${h.numerator} smaller` : `${h.denominator} smaller`})` : 'flips within the ranges',
  ]),
)}
<div class="grid">${u.headline.map((h) => chart(tornadoChart(r, h.id), `Tornado: ${h.id}, each assumed constant at either end of its range.`)).join('\n')}</div>
${table(
  ['assumed constant', 'value', 'range', ...u.headline.map((h) => `${h.id} at low / high`)],
  u.constants.map((c) => [
    c.name,
    `${c.value} ${c.unit}`,
    `[${c.low}, ${c.high}]`,
    ...u.headline.map((h) => `${f(c.ratios[h.id][0])} / ${f(c.ratios[h.id][1])}`),
  ]),
)}
</section>`;
}

const CSS = `body{font-family:sans-serif;margin:12px;color:#111;max-width:1500px}h1{font-size:22px}
h2{font-size:18px;border-bottom:1px solid #999;margin-top:32px}
table{border-collapse:collapse;font-size:12px;margin:8px 0}td,th{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}th{background:#eee}
table.sources td:nth-child(5){max-width:520px}.grid{display:flex;flex-direction:column;gap:8px}figure.chart{margin:0;border:1px solid #ddd;padding:4px}
figure.chart{width:100%}figure.chart svg{width:100%;height:auto;max-height:560px}figcaption{font-size:12px;color:#333}.ok{color:#005a2b}.bad{color:#a00}
@media print{figure.chart{break-inside:avoid}}`;

const MEASURED = 'measured results of the trainer (model, data and seeds in the table)';
const NOT_MEASURED = 'not measured for this model; no published figure is substituted';
const AREA_CAPTION = 'Area per variant by part (ROM, writable SRAM, task storage, buffers, MAC array, non-linear units, correction, control).';

/** In place of the two accuracy charts when no variant has a measured accuracy: one line saying why. */
function noAccuracyNote(r: ReportJson): string {
  return (
    `<p class="no-accuracy">No accuracy to plot against area and energy: ${esc(r.config.name)} has ${esc(r.model.weights.kind)} weights, ` +
    "so no variant has a measured accuracy, and the paper's published figures were not read in a primary source, so none is shown. " +
    'A config with fine-tuning results (such as bert-l4-h128) draws accuracy against area and against energy here.</p>'
  );
}

/** The whole page for a report, optionally compared with another. */
export function renderPage(r: ReportJson, other?: ReportJson): string {
  const primary = r.variants.find((v) => v.id === 'bitfit') ?? r.variants[0];
  const firstAccuracy = r.variants.find((v) => v.accuracy)?.accuracy ?? null;
  const measured = firstAccuracy !== null;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Design review: ${esc(r.config.name)}</title><style>${CSS}</style></head>
<body>
<h1>Design review: ${esc(r.config.name)} (${esc(r.technology.node)}, ${esc(arrayOf(r))})</h1>
<p>Cycles and access counts are computed by this tool's schedule model; area and energy from the technology table's constants
(each listed below with its source and kind); the bit-exact check is measured by running both integer implementations.
Accuracy: ${measured ? MEASURED : NOT_MEASURED}.</p>
${summary(r)}
<section id="tradeoff"><h2>1. Trade-off fronts</h2><div class="grid">
${
  measured
    ? `${chart(tradeoffChart(r, 'area'), 'Accuracy against area, one point per variant, error bars from the seeds.')}
${chart(tradeoffChart(r, 'energy'), 'Accuracy against energy per inference.')}`
    : noAccuracyNote(r)
}
${chart(costFrontChart(r), 'Area against energy per inference; the dashed line joins the variants no other variant beats on both.')}
</div></section>
${uncertaintyBlock(r)}
<section id="breakdown"><h2>2. Area and energy by part</h2><div class="grid">
${chart(breakdownChart(r, 'areaMm2'), AREA_CAPTION)}
${chart(breakdownChart(r, 'energyUJ'), 'Energy per inference by part (MACs, ROM, writable SRAM, buffers, non-linear units, DRAM, leakage).')}
</div></section>
<section id="cycles"><h2>3. Cycles and utilisation</h2><div class="grid">
${chart(cyclesChart(primary), `Cycles each layer adds to the latency, and MAC utilisation, for ${primary.id}.`)}
${chart(opKindChart(primary), `Cycles per op type for ${primary.id} (non-linear ops count only what the GEMMs do not hide).`)}
</div></section>
<section id="heatmap"><h2>4. Bias changes</h2><div class="grid">
${chart(heatmapChart(r), 'Per bias type and layer, the mean absolute change of the fine-tuned bias (needs trainer results).')}
</div></section>
<section id="tasks"><h2>5. Task switching</h2><div class="grid">
${chart(imageSizeChart(r), 'Bytes of one task image per variant.')}
${chart(
  taskSwitchChart(r),
  'On-chip area as more task images are stored; full-ft and dram-stream keep theirs off chip (dashed). ' +
    'Circles or notes mark where bitfit reaches their area.',
)}
</div>
${table(
  ['variant', 'task image (B)', 'switch cycles', 'switch energy (µJ)', 'images on chip', 'images per MiB', 'how a switch happens'],
  r.variants.map((v) => [
    v.id,
    v.taskImageBytes,
    v.taskSwitch.cycles,
    num(v.taskSwitch.energyUJ),
    v.tasksOnChip,
    v.taskImageBytes > 0 ? Math.floor((8 * 2 ** 20) / (8 * v.taskImageBytes)) : '',
    v.taskSwitch.source,
  ]),
)}
</section>
<section id="accuracy"><h2>6. Accuracy and verification</h2>
${
  measured
    ? `<p>${esc(firstAccuracy!.metric)}; tasks ${esc(firstAccuracy!.task)}. Source: ${esc(r.sources.accuracy)}.</p>` +
      table(
        ['variant', 'float mean ± std', 'integer datapath mean ± std', 'seeds', 'per task (float / integer)'],
        r.variants
          .filter((v) => v.accuracy)
          .map((v) => {
            const a = v.accuracy!;
            const pm = (s: { mean: number; std: number } | null | undefined): string => (s ? `${s.mean} ± ${a.seeds.length > 1 ? s.std : '—'}` : '—');
            return [
              v.id + (a.from && a.from !== v.id ? ` (results of ${a.from})` : ''),
              pm(a),
              pm(a.integer),
              a.seeds.join(', '),
              (a.perTask ?? []).map((t) => `${t.task} ${pm(t.float)} / ${pm(t.integer)}`).join('; '),
            ];
          }),
      )
    : `<p>No accuracy results for ${esc(r.config.name)} (${esc(r.model.weights.kind)} weights): the trainer has not produced results for this model.</p>`
}
${verifyBlock(r)}
</section>
<section id="provenance"><h2>7. Provenance and sources</h2>${provenance(r)}</section>
${other ? compareBlock(r, other) : ''}
</body></html>
`;
}
