import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { DoubleBufferedReadScratchpad, maxPrefixStall, maxPrefixSumPeriodic } from '../../sim/scratchpad.js';

/** Step a reader through units 0..n-1 (unit k computes steps[k] cycles) on a one-unit double buffer. */
function steppedStall(fills: number[], steps: number[]): number {
  const n = fills.length;
  const pad = new DoubleBufferedReadScratchpad({ units: n, activeUnits: 1, prefetchUnits: Math.min(1, n - 1), fillCycles: (k) => fills[k], initialFillEnd: 0 });
  let t = 0;
  for (let k = 0; k < n; k++) {
    let ready = 0;
    while (!pad.holds(k)) ready = pad.advance();
    t = Math.max(t, ready) + steps[k];
  }
  return t - steps.reduce((s, x) => s + x, 0);
}

describe('double-buffered read scratchpad', () => {
  it('the closed form equals the stepped scratchpad for any fill and compute times', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 50 })), { minLength: 1, maxLength: 40 }), (xs) => {
        const fills = xs.map((x) => x[0]);
        const steps = xs.map((x) => x[1]);
        expect(maxPrefixStall(fills, steps)).toBe(steppedStall(fills, steps));
      }),
      { numRuns: 300 },
    );
  });

  it('hides the first fill and charges each later one beyond the compute it overlaps', () => {
    expect(steppedStall([100, 30, 30], [10, 10, 10])).toBe(40); // (30 - 10) + (30 - 10)
    expect(steppedStall([100, 5, 30], [10, 10, 10])).toBe(15); // the early second fill makes up 5 cycles
  });

  it('wraps its window around the stream and counts each refill', () => {
    const pad = new DoubleBufferedReadScratchpad({ units: 5, activeUnits: 2, prefetchUnits: 2, fillCycles: () => 7, initialFillEnd: -1 });
    expect([pad.holds(0), pad.holds(1), pad.holds(2)]).toEqual([true, true, false]);
    expect(pad.advance()).toBe(6);
    expect([pad.start, pad.end, pad.holds(3), pad.holds(0)]).toEqual([2, 4, true, false]);
    pad.advance();
    expect([pad.start, pad.end, pad.holds(4), pad.holds(0), pad.holds(1), pad.refills]).toEqual([4, 1, true, true, false, 2]);
  });

  it('holdsAll and stretchOf agree with holds unit by unit, wrapped windows included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 16 }),
        fc.integer({ min: 1, max: 15 }),
        fc.integer({ min: 1, max: 15 }),
        fc.integer({ min: 0, max: 40 }),
        (units, a, p, steps) => {
          fc.pre(a < units);
          const pad = new DoubleBufferedReadScratchpad({
            units,
            activeUnits: a,
            prefetchUnits: Math.min(p, units - a),
            fillCycles: () => 1,
            initialFillEnd: -1,
          });
          for (let s = 0; s < steps; s++) pad.advance();
          for (let first = 0; first < units; first++) {
            for (let last = first; last < units; last++) {
              let all = true;
              for (let u = first; u <= last; u++) all &&= pad.holds(u);
              expect(pad.holdsAll(first, last)).toBe(all);
            }
            if (!pad.holds(first)) continue;
            const [from, to] = pad.stretchOf(first);
            expect(from <= first && first < to && to <= units).toBe(true);
            for (let u = from; u < to; u++) expect(pad.holds(u)).toBe(true);
            // the stretch is maximal: it ends at the window's end or the stream's, and starts at the window's start or 0
            expect(to === units || !pad.holds(to)).toBe(true);
            expect(from === 0 || !pad.holds(from - 1) || from === pad.start).toBe(true);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('advancesToHold and advanceBy equal advancing one prefetch half at a time', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 60 }),
        fc.integer({ min: 1, max: 59 }),
        fc.integer({ min: 1, max: 59 }),
        fc.array(fc.integer({ min: 0, max: 59 }), { minLength: 1, maxLength: 20 }),
        fc.boolean(),
        (units, a, p, wanted, closed) => {
          fc.pre(a < units);
          const fills = (k: number): number => 3 + (k % 4);
          const shape = { units, activeUnits: a, prefetchUnits: Math.min(p, units - a), fillCycles: fills, initialFillEnd: -1 };
          // with and without the closed-form sum of the fill times
          const fast = new DoubleBufferedReadScratchpad(
            closed ? { ...shape, fillSum: (from, to) => Array.from({ length: to - from + 1 }, (_, i) => fills(from + i)).reduce((x, y) => x + y, 0) } : shape,
          );
          const slow = new DoubleBufferedReadScratchpad(shape);
          for (const w of wanted) {
            const unit = w % units;
            let n = 0;
            let end = slow.lastFillEnd;
            while (!slow.holds(unit) && n <= units) {
              end = slow.advance();
              n++;
            }
            if (n > units) {
              // a window that steps over the unit (prefetch half longer than the window) never holds it
              expect(() => fast.advancesToHold(unit)).toThrow(/is never in the window/);
              return;
            }
            expect(fast.advancesToHold(unit)).toBe(n);
            expect(fast.advanceBy(n)).toBe(end);
            expect([fast.start, fast.end, fast.refills, fast.lastFillEnd]).toEqual([slow.start, slow.end, slow.refills, slow.lastFillEnd]);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the periodic closed form equals the listed sequence', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.integer({ min: -20, max: 20 }), { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 0, max: 5 }),
        fc.boolean(),
        (n, [a, b, a2, b2], periods, last) => {
          fc.pre(periods > 0 || last);
          const seq: number[] = [];
          for (let p = 0; p < periods; p++) seq.push(...Array<number>(n - 1).fill(a), b);
          if (last) seq.push(...Array<number>(n - 1).fill(a2), b2);
          let s = 0;
          let best = -Infinity;
          for (const x of seq) best = Math.max(best, (s += x));
          expect(maxPrefixSumPeriodic(n, a, b, periods, last, a2, b2)).toBe(best);
        },
      ),
      { numRuns: 300 },
    );
  });
});
