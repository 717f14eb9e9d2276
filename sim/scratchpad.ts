/**
 * A double-buffered read scratchpad, the one memory-feed stall mechanism of this project (both the
 * native cost model in cycles.ts and the SCALE-Sim USER mode in scalesim-buffers.ts use it).
 *
 * The operand is a stream cut into units (SCALE-Sim: lines of its hashed buffer; native: one fold's
 * tile each) in the order they are fetched. The scratchpad holds a window of `activeUnits` units the
 * array reads from, followed by `prefetchUnits` being filled. The first window is filled before
 * cycle 0. When the array needs a unit beyond the window, the window moves on by one prefetch half
 * (wrapping around the stream, as SCALE-Sim's read_buffer does) and a refill is charged: it starts the
 * cycle after the previous refill ended (refills run back to back in the background, whether or not
 * anyone waits for them) and lasts `fillCycles(k)` cycles. A reader waiting for a unit is served when
 * the refill that brought it ends.
 *
 * `advancesToHold` and `advanceBy` take a run of refills at once (a reader that has fallen behind
 * the window, or wrapped around the stream), with the same result as advancing one at a time.
 *
 * `maxPrefixStall` is the closed form of the same rule for a reader that walks the units in order,
 * one unit per step: with fills F_1.. (F_0 hidden before cycle 0) and compute steps L_0.., step k
 * starts at max(end of step k-1, end of fill k), so the stall is the largest prefix sum of
 * F_k - L_{k-1} (or 0). test/sim/scratchpad.test.ts checks the two against each other.
 */

export interface ScratchpadShape {
  /** Units in the whole stream (the window wraps around after the last). */
  units: number;
  activeUnits: number;
  prefetchUnits: number;
  /** Cycles the k-th refill takes (k = 1, 2, ...). */
  fillCycles: (k: number) => number;
  /** Cycles refills from..to take together, in closed form (for advanceBy; else fillCycles one by one). */
  fillSum?: (from: number, to: number) => number;
  /** Cycle the initial fill of the active window ends (SCALE-Sim: the cycle before the first request). */
  initialFillEnd: number;
}

export class DoubleBufferedReadScratchpad {
  /** First unit of the active window. */
  start = 0;
  /** One past the last unit of the active window, modulo `units`. */
  end: number;
  /** Cycle the most recent fill ended. */
  lastFillEnd: number;
  /** Refills charged so far (the initial fill not counted). */
  refills = 0;

  constructor(readonly shape: ScratchpadShape) {
    if (shape.units < 1 || shape.activeUnits < 1 || shape.prefetchUnits < 0) {
      throw new RangeError(
        `scratchpad: units ${shape.units}, active ${shape.activeUnits}, prefetch ${shape.prefetchUnits}: need units, active >= 1 and prefetch >= 0`,
      );
    }
    this.end = Math.min(shape.activeUnits, shape.units);
    this.lastFillEnd = shape.initialFillEnd;
  }

  /** Whether `unit` is in the active window (a window that wraps holds the units from start to the last and from 0 to end). */
  holds(unit: number): boolean {
    const { start, end } = this;
    return start < end ? unit >= start && unit < end : unit >= start || unit < end;
  }

  /** Whether units first..last (first <= last) are all in the active window. */
  holdsAll(first: number, last: number): boolean {
    const { start, end } = this;
    if (start < end) return first >= start && last < end;
    return (first >= start && last < this.shape.units) || last < end;
  }

  /** The stretch [from, to) of the active window, without wrapping, that holds `unit` (which must be held). */
  stretchOf(unit: number): [number, number] {
    const { start, end } = this;
    if (start < end) return [start, end];
    return unit >= start ? [start, this.shape.units] : [0, end];
  }

  /** How many advances bring `unit` into the active window (0 if it is held). */
  advancesToHold(unit: number): number {
    if (this.holds(unit)) return 0;
    const { units, activeUnits, prefetchUnits } = this.shape;
    if (prefetchUnits === 0) throw new RangeError('scratchpad: the whole stream is in the active window; nothing to prefetch');
    // unit lies `past` units beyond the window's start; each advance takes prefetchUnits off that
    const past = (((unit - this.start) % units) + units) % units;
    if (activeUnits >= prefetchUnits) return Math.ceil((past - activeUnits + 1) / prefetchUnits);
    // a prefetch half longer than the window may step over the unit: step until held (the window's starts repeat after `units` steps)
    for (let n = 1, p = past; n <= units; n++) {
      p = (((p - prefetchUnits) % units) + units) % units;
      if (p < activeUnits) return n;
    }
    throw new RangeError(`scratchpad: unit ${unit} is never in the window (units ${units}, active ${activeUnits}, prefetch ${prefetchUnits})`);
  }

  /** Move the window on by n prefetch halves at once (n advances); returns the cycle the last refill ends. */
  advanceBy(n: number): number {
    if (n <= 0) return this.lastFillEnd;
    const { units, activeUnits, prefetchUnits, fillSum } = this.shape;
    if (prefetchUnits === 0) throw new RangeError('scratchpad: the whole stream is in the active window; nothing to prefetch');
    this.start = (this.start + ((n * prefetchUnits) % units)) % units;
    this.end = (this.start + activeUnits) % units;
    const from = this.refills + 1;
    this.refills += n;
    if (fillSum) this.lastFillEnd += fillSum(from, this.refills);
    else for (let k = from; k <= this.refills; k++) this.lastFillEnd += this.shape.fillCycles(k);
    return this.lastFillEnd;
  }

  /** Move the window on by one prefetch half and charge the refill; returns the cycle it ends. */
  advance(): number {
    const { units, activeUnits, prefetchUnits } = this.shape;
    if (prefetchUnits === 0) throw new RangeError('scratchpad: the whole stream is in the active window; nothing to prefetch');
    this.start = (this.start + prefetchUnits) % units;
    this.end = (this.start + activeUnits) % units;
    this.refills++;
    this.lastFillEnd = this.lastFillEnd + this.shape.fillCycles(this.refills);
    return this.lastFillEnd;
  }
}

/**
 * Closed form: stall cycles of a reader that consumes units 0..n-1 in order, unit k for `steps[k]`
 * cycles, when unit k's fill lasts `fills[k]` cycles (fills[0], the initial fill, is hidden) and
 * refills run back to back. Equals max(0, max_j sum_{k=1..j} (fills[k] - steps[k-1])).
 */
export function maxPrefixStall(fills: ArrayLike<number>, steps: ArrayLike<number>): number {
  let best = 0;
  let sum = 0;
  for (let k = 1; k < fills.length; k++) {
    sum += fills[k] - steps[k - 1];
    if (sum > best) best = sum;
  }
  return best;
}

/**
 * Largest prefix sum (over prefixes of length >= 1) of a sequence given by its runs, without listing
 * it: `periods` repetitions of [(n - 1) x a, b], then, when `last`, one period [(n - 1) x a2, b2].
 * The fold sequence of a GEMM has this shape (row folds inner, the edge fold last in each period).
 */
export function maxPrefixSumPeriodic(n: number, a: number, b: number, periods: number, last: boolean, a2: number, b2: number): number {
  const periodMax = (x: number, y: number): number => Math.max(n > 1 ? (x > 0 ? (n - 1) * x : x) : -Infinity, (n - 1) * x + y);
  const sumFull = (n - 1) * a + b;
  let best = -Infinity;
  if (periods > 0) best = periodMax(a, b) + Math.max(0, (periods - 1) * sumFull);
  if (last) best = Math.max(best, periods * sumFull + periodMax(a2, b2));
  return best;
}
