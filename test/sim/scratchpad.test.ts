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
