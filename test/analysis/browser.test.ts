/**
 * End to end: the design-review page opens in headless Chromium (Debian's `chromium`, installed by
 * .ci/run). First the watchers are proven to work: a probe page that logs a console error, throws
 * and requests a missing file must be caught by all three, so "no errors" below means something.
 * Then the page itself: no console error, no uncaught exception, no failed request and no request
 * off the file (it is self-contained); every section heading is shown; every chart's SVG has a
 * non-empty box with marks; no text runs outside its chart, its table cell or the page. A
 * screenshot is saved to out/e2e/report.png for a person to look at.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { readReport, type ReportJson } from '../../formats/report-schema.js';
import { renderPage } from '../../analysis/html.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium (apt-get install chromium)`);
if (!available) console.warn(`test/analysis/browser.test.ts skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);

const DIR = resolve('out/e2e');

/** What went wrong on a page, as the page's own events report it. */
interface Watch {
  consoleErrors: string[];
  pageErrors: string[];
  failedRequests: string[];
  /** Requests to anything but the page's own file:// or data: URLs. */
  offPage: string[];
}

function watch(p: Page): Watch {
  const w: Watch = { consoleErrors: [], pageErrors: [], failedRequests: [], offPage: [] };
  p.on('console', (m) => {
    if (m.type() === 'error') w.consoleErrors.push(m.text());
  });
  p.on('pageerror', (e) => w.pageErrors.push(e.message));
  p.on('requestfailed', (r) => w.failedRequests.push(`${r.url()}: ${r.failure()?.errorText ?? '?'}`));
  p.on('request', (r) => {
    if (!/^(file|data):/.test(r.url())) w.offPage.push(r.url());
  });
  return w;
}

/** What a person would see wrong: charts (box, marks, text outside), text wider than its box, a page wider than the window. */
async function inspect(p: Page): Promise<{
  charts: { id: string; w: number; h: number; marks: number; noData: boolean; outside: string[]; overlaps: string[] }[];
  overflowing: string[];
  pageWidth: number;
  viewportWidth: number;
}> {
  const charts = await p.$$eval('figure.chart svg', (svgs) =>
    svgs.map((s) => {
      const box = s.getBoundingClientRect();
      // text drawn outside its SVG's box is cut off (charts do not set overflow: visible)
      const outside = [...s.querySelectorAll('text')]
        .map((t) => ({ t: t.textContent ?? '', r: t.getBoundingClientRect() }))
        .filter(({ t, r }) => t.trim() !== '' && (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1))
        .map(({ t }) => t);
      // labels drawn over each other (crowded ticks) or over a legend's key are unreadable; two labels both
      // rotated (a band axis's slanted ticks) are left out, as their upright boxes overlap where the text does not
      const labels = [...s.querySelectorAll('text')]
        .filter((t) => (t.textContent ?? '').trim() !== '')
        .map((t) => ({ t: t.textContent ?? '', r: t.getBoundingClientRect(), rotated: /rotate/.test(t.getAttribute('transform') ?? '') }));
      const keys = [...s.querySelectorAll('.legend rect, .legend path')].map((k) => ({ t: 'legend key', r: k.getBoundingClientRect(), rotated: false }));
      const cross = (a: { left: number; right: number; top: number; bottom: number }, b: typeof a): boolean =>
        Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
      const overlaps: string[] = [];
      labels.forEach((a, i) =>
        [...labels.slice(i + 1), ...keys].forEach((b) => void (!(a.rotated && b.rotated) && cross(a.r, b.r) && overlaps.push(`${a.t} / ${b.t}`))),
      );
      return {
        id: s.id,
        w: box.width,
        h: box.height,
        marks: s.querySelectorAll('rect, path, circle, line, text').length,
        noData: s.querySelector('.no-data') !== null,
        outside,
        overlaps,
      };
    }),
  );
  // a table cell, caption, paragraph or heading whose text is wider than its box
  const overflowing = await p.$$eval('td, th, figcaption, p, h1, h2, h3', (els) =>
    els
      .filter((e) => {
        const text = e.ownerDocument.createRange();
        text.selectNodeContents(e);
        const [t, box] = [text.getBoundingClientRect(), e.getBoundingClientRect()];
        return t.width > 0 && (t.left < box.left - 1 || t.right > box.right + 1);
      })
      .map((e) => `${e.tagName.toLowerCase()}: ${(e.textContent ?? '').slice(0, 60)}`),
  );
  const { pageWidth, viewportWidth } = await p.$eval('html', (e) => ({ pageWidth: e.scrollWidth, viewportWidth: e.clientWidth }));
  return { charts, overflowing, pageWidth, viewportWidth };
}

/** The golden report with measured accuracy on every variant, so the accuracy charts and table draw data. */
function withAccuracy(r: ReportJson): ReportJson {
  return {
    ...r,
    sources: { ...r.sources, accuracy: 'test: made-up accuracy to draw the accuracy charts' },
    variants: r.variants.map((v, i) => ({
      ...v,
      accuracy: {
        mean: 60 + i,
        std: 1.5,
        metric: 'accuracy x 100',
        seeds: [1, 2, 3],
        task: 'rte',
        integer: v.id.startsWith('rand-') ? null : { mean: 59 + i, std: 1.2 },
        perTask: [{ task: 'rte', metric: 'accuracy', lr: 1e-3, float: { mean: 60 + i, std: 1.5 }, integer: null }],
        from: v.id === 'dram-stream' ? 'full-ft' : v.id,
      },
    })),
  };
}

describe.skipIf(!available)('design-review page in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(DIR, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
        '--disable-quic',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('catches a console error, an uncaught exception, a failed request and overflowing text (the checks below are live)', async () => {
    const probe = resolve(DIR, 'probe.html');
    writeFileSync(
      probe,
      '<!doctype html><html><body><p>probe</p><img src="missing-on-purpose.png">' +
        '<table style="table-layout:fixed;width:80px"><tr><td>acelltextfartoowideforitseightypixelcell</td></tr></table>' +
        '<figure class="chart"><svg id="probe-chart" width="200" height="120"><rect width="50" height="50"></rect>' +
        '<text x="170" y="20">cut off on purpose</text>' +
        '<text x="10" y="80">one label</text><text x="20" y="82">another over it</text></svg></figure>' +
        '<div style="width:4000px">wider than the window</div>' +
        '<script>console.error("probe: console error"); setTimeout(() => { throw new Error("probe: uncaught"); }, 0);</script></body></html>',
    );
    const p = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
    const w = watch(p);
    await p.goto(pathToFileURL(probe).href, { waitUntil: 'load' });
    await p.waitForTimeout(200);
    const seen = await inspect(p);
    await p.close();
    expect(w.consoleErrors).toContain('probe: console error');
    expect(w.pageErrors.join('\n')).toMatch(/probe: uncaught/);
    expect(w.failedRequests.join('\n')).toMatch(/missing-on-purpose\.png: net::ERR_FILE_NOT_FOUND/);
    expect(w.offPage).toEqual([]);
    expect(seen.charts).toMatchObject([{ id: 'probe-chart', outside: ['cut off on purpose'], overlaps: ['one label / another over it'] }]);
    expect(seen.overflowing).toEqual(['td: acelltextfartoowideforitseightypixelcell']);
    expect(seen.pageWidth).toBeGreaterThan(seen.viewportWidth);
  });

  it('shows every section and chart with no errors, no failed request and no text overflowing, and saves a screenshot', async () => {
    const golden = readReport('fixtures/golden/report-rom-bert-tiny.json');
    const page = resolve(DIR, 'report.html');
    writeFileSync(page, renderPage(withAccuracy(golden), golden));
    const p = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
    const w = watch(p);
    await p.goto(pathToFileURL(page).href, { waitUntil: 'load' });

    // what a person sees: the title and every section heading, each with a box on the page
    const headings = await p.$$eval('h1, h2', (hs) =>
      hs.map((h) => ({ text: h.textContent ?? '', w: h.getBoundingClientRect().width, h: h.getBoundingClientRect().height })),
    );
    const expected = [
      'Design review: rom-bert-tiny',
      '1. Trade-off fronts',
      '1b. Uncertainty',
      '2. Area and energy by part',
      '3. Cycles and utilisation',
      '4. Bias changes',
      '5. Task switching',
      '6. Accuracy and verification',
      '7. Provenance and sources',
      'Comparison: rom-bert-tiny (A) and rom-bert-tiny (B)',
    ];
    expect(headings.map((h) => h.text.slice(0, expected.find((e) => h.text.startsWith(e))?.length ?? h.text.length))).toEqual(expected);
    for (const h of headings) {
      expect(h.w, h.text).toBeGreaterThan(50);
      expect(h.h, h.text).toBeGreaterThan(10);
    }
    expect(await p.locator('#accuracy table').count()).toBe(1); // the measured-accuracy table, not the "no results" note

    const seen = await inspect(p);
    expect(seen.charts.length).toBe(12 + (golden.uncertainty?.headline.length ?? 0)); // 10 charts, a tornado per headline ratio, 2 in the comparison
    for (const c of seen.charts) {
      expect(c.w, c.id).toBeGreaterThan(100);
      expect(c.h, c.id).toBeGreaterThan(100);
      // a chart with data draws axes and marks; one without says so in its box
      if (c.noData) expect(c.marks, c.id).toBeGreaterThanOrEqual(3);
      else expect(c.marks, c.id).toBeGreaterThan(20);
      expect(c.outside, `${c.id}: text outside the chart`).toEqual([]);
      expect(c.overlaps, `${c.id}: labels over each other`).toEqual([]);
    }
    expect(seen.charts.filter((c) => c.id.startsWith('tradeoff')).every((c) => !c.noData)).toBe(true); // accuracy drawn
    expect(seen.overflowing).toEqual([]);
    expect(seen.pageWidth, 'the page scrolls sideways').toBeLessThanOrEqual(seen.viewportWidth);

    await p.screenshot({ path: resolve(DIR, 'report.png'), fullPage: true });
    expect(existsSync(resolve(DIR, 'report.png'))).toBe(true);
    await p.close();
    expect(w.consoleErrors).toEqual([]);
    expect(w.pageErrors).toEqual([]);
    expect(w.failedRequests).toEqual([]);
    expect(w.offPage).toEqual([]);
  });
});
