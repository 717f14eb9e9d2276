/**
 * End to end: the design-review page opens in headless Chromium (Debian's `chromium`, installed by
 * .ci/run), every chart renders to a non-empty box, nothing is logged as an error, and a
 * screenshot is saved to out/e2e/report.png.
 */
import { describe, it, expect } from 'vitest';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { readReport } from '../../analysis/read.js';
import { renderPage } from '../../analysis/html.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium (apt-get install chromium)`);

describe.skipIf(!available)('design-review page in headless Chromium', () => {
  it('renders every chart with no console errors and saves a screenshot', async () => {
    const dir = resolve('out/e2e');
    mkdirSync(dir, { recursive: true });
    const r = readReport('fixtures/golden/report-rom-bert-tiny.json');
    const page = resolve(dir, 'report.html');
    writeFileSync(page, renderPage(r, r));
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
    });
    try {
      const p = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
      const errors: string[] = [];
      p.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      p.on('pageerror', (e) => errors.push(e.message));
      await p.goto(`file://${page}`);
      const boxes = await p.$$eval('figure.chart svg', (svgs) =>
        svgs.map((s) => ({ id: s.id, w: s.getBoundingClientRect().width, h: s.getBoundingClientRect().height, marks: s.querySelectorAll('rect, path, circle, line, text').length, noData: s.querySelector('.no-data') !== null })),
      );
      expect(boxes.length).toBe(12); // 10 charts + 2 in the comparison
      for (const b of boxes) {
        expect(b.w, b.id).toBeGreaterThan(100);
        expect(b.h, b.id).toBeGreaterThan(100);
        // a chart with data draws axes and marks; one without says so in its box
        if (b.noData) expect(b.marks, b.id).toBeGreaterThanOrEqual(3);
        else expect(b.marks, b.id).toBeGreaterThan(20);
      }
      await p.screenshot({ path: resolve(dir, 'report.png'), fullPage: true });
      expect(existsSync(resolve(dir, 'report.png'))).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
