import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { EstimateEpochs, EstimateReadBuffer, UserReadBuffer, WriteBuffer } from '../../sim/scalesim-buffers.js';

/** write_buffer.service_writes word by word, as SCALE-Sim loops (the oracle for WriteBuffer's runs of words). */
class WordByWordWriteBuffer {
  private readonly total: number;
  private readonly drainWords: number;
  private free: number;
  private lineFill = 0;
  private lines = 0;
  private readonly partial = new Map<number, number>();
  private drainStart = 0;
  private drainEndCycle = 0;
  private access = 0;
  private dramStart = NaN;
  private dramStop = NaN;

  constructor(
    sizeWords: number,
    private readonly bandwidth: number,
  ) {
    this.total = sizeWords;
    this.drainWords = sizeWords - Math.ceil(sizeWords * 0.5);
    this.free = sizeWords;
  }

  serviceRow(cycle: number, row: number[]): number {
    let current = cycle;
    for (const a of row) {
      if (a === -1) continue;
      this.free--;
      if (++this.lineFill === this.bandwidth) {
        this.lines++;
        this.lineFill = 0;
      }
      if (current < this.drainEndCycle) {
        if (this.free <= 0) current = this.drainEndCycle;
      } else if (this.free < this.total - this.drainWords) {
        this.flush();
        this.drainEndCycle = this.drain(current);
      }
    }
    return current;
  }

  private flush(): void {
    if (this.lineFill === 0) return;
    this.partial.set(this.lines, this.lineFill);
    this.lines++;
    this.lineFill = 0;
  }

  private drain(startCycle: number): number {
    const n = Math.min(Math.ceil(this.drainWords / this.bandwidth), this.lines - this.drainStart);
    const last = this.drainStart + n - 1;
    const words = n * this.bandwidth - (this.bandwidth - (this.partial.get(last) ?? this.bandwidth));
    this.access += words;
    this.free += words;
    if (Number.isNaN(this.dramStart)) this.dramStart = startCycle;
    this.dramStop = startCycle + n - 1;
    this.drainStart += n;
    return startCycle + n - 1;
  }

  finish(cycle: number): void {
    this.flush();
    while (this.drainStart < this.lines) {
      this.drainEndCycle = this.drain(cycle);
      cycle = this.drainEndCycle + 1;
    }
  }

  counts() {
    return { dramWrites: this.access, dramStartCycle: this.dramStart, dramStopCycle: this.dramStop };
  }
}

describe('SCALE-Sim buffers', () => {
  it('the write buffer served by runs of words equals SCALE-Sim word by word', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 200 }),
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 60 }),
        (size, bw, rows) => {
          const runs = new WriteBuffer(size, bw);
          const words = new WordByWordWriteBuffer(size, bw);
          let cycle = 0;
          const got: number[] = [];
          const want: number[] = [];
          for (const [n, gap] of rows) {
            // rows with padding between their words, issued when the previous one was accepted (plus a gap)
            const row = Array.from({ length: 2 * n }, (_, i) => (i % 2 ? -1 : i));
            const a = runs.serviceRow(cycle, Int32Array.from(row), row.length);
            const b = words.serviceRow(cycle, row);
            got.push(a);
            want.push(b);
            cycle = b + gap;
          }
          expect(got).toEqual(want);
          runs.finish(cycle);
          words.finish(cycle);
          expect(runs.counts()).toEqual(words.counts());
        },
      ),
      { numRuns: 400 },
    );
  });

  it('the CALC-mode estimate in closed form equals EstimateReadBuffer for runs of new and repeated words', () => {
    let withEpochs = 0;
    let repeatsHit = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 1200 }),
        fc.constantFrom('passes', 'blocks'),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 5 }),
        (size, shape, blocks, reps, firstCycle) => {
          // the two shapes of a GEMM operand's demand, fold by fold: blocks of new words, the whole pass of
          // them repeated (OS and WS ifmap, IS filter); or each block repeated in turn (OS filter)
          const stream: number[] = [];
          const runs: [number, number, number][] = [];
          const starts = blocks.map((_, b) => blocks.slice(0, b).reduce((s, x) => s + x, 0));
          const pass = blocks.reduce((s, x) => s + x, 0);
          const emit = (b: number, distance: number): void => {
            runs.push([stream.length, blocks[b], distance]);
            for (let i = 0; i < blocks[b]; i++) stream.push(starts[b] + i);
          };
          if (shape === 'passes') for (let r = 0; r < reps; r++) blocks.forEach((_, b) => emit(b, r === 0 ? Infinity : pass));
          else blocks.forEach((_, b) => Array.from({ length: reps }, (_, r) => emit(b, r === 0 ? Infinity : blocks[b])));
          const fresh = pass;
          // one word per cycle from firstCycle: word x is requested at cycle firstCycle + x
          const ref = new EstimateReadBuffer(size, 10, 0, fresh);
          stream.forEach((a, x) => ref.serviceRow(firstCycle + x, Int32Array.of(a), 1));
          ref.finish();
          const est = new EstimateEpochs(size, 10);
          for (const [pos, len, distance] of runs) for (const o of est.run(pos, len, distance)) est.epochEndedAt(firstCycle + pos + o);
          expect(est.counts(firstCycle)).toEqual(ref.counts());
          if (est.epochs > 0) withEpochs++;
          if (est.misses < stream.length) repeatsHit++;
        },
      ),
      { numRuns: 400 },
    );
    // both regimes drawn: epochs that end (fetching again what was held) and repeats served from the buffer
    expect(withEpochs).toBeGreaterThan(40);
    expect(repeatsHit).toBeGreaterThan(40);
  });

  it('a read buffer serving lines equals one serving the addresses in them', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 400 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 300 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 299 }), fc.integer({ min: 1, max: 12 })), { minLength: 1, maxLength: 40 }),
        (size, bw, valid, rows) => {
          // a prefetch order of distinct addresses with padding between them; rows of consecutive valid words
          const fetch = Int32Array.from({ length: 2 * valid }, (_, i) => (i % 2 ? -1 : 1000 + i / 2));
          const byAddress = new UserReadBuffer(size, bw, fetch);
          const byLines = new UserReadBuffer(size, bw, { length: fetch.length, valid });
          let cycle = 0;
          for (const [at, n] of rows) {
            const lo = at % valid;
            const hi = Math.min(valid - 1, lo + n - 1);
            const row = Int32Array.from({ length: hi - lo + 1 }, (_, i) => 1000 + lo + i);
            const a = byAddress.serviceRow(cycle, row, row.length);
            const b = byLines.serviceLines(cycle, byLines.lineOf(lo), byLines.lineOf(hi));
            expect(b).toBe(a);
            cycle = a + 1;
          }
          expect(byLines.counts()).toEqual(byAddress.counts());
        },
      ),
      { numRuns: 300 },
    );
  });
});
