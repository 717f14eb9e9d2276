/**
 * SCALE-Sim v2's three on-chip buffers, rewritten from its rules (scalesim/memory/read_buffer.py,
 * read_buffer_estimate_bw.py, write_buffer.py, read_port.py, write_port.py of
 * scalesim-project/scale-sim-v2; word size 1 byte, active fraction 0.5, DRAM read latency 1, write
 * latency 0, as single_layer_sim.py sets them):
 *
 * - `UserReadBuffer` (USER mode): the ifmap or filter SRAM as a DoubleBufferedReadScratchpad over
 *   the operand's prefetch order cut into lines of ceil(size / 100) words; a request outside the
 *   active window moves it on and waits for that refill, which ends ceil(prefetch words / bandwidth)
 *   + 1 cycles after the previous one.
 * - `EstimateReadBuffer` (CALC mode): never stalls; counts the DRAM words a buffer of this size
 *   would have fetched (distinct addresses per set of size/100 words, in demand order).
 * - `WriteBuffer`: the ofmap SRAM; when more than half is full it drains one half to DRAM at
 *   `bandwidth` words per cycle; a write that finds it full waits for the drain.
 *
 * Each has a faster equivalent for operands whose every address occurs once (the fold-by-fold
 * simulation of scalesim-memory.ts): `UserReadBuffer.serviceLines` serves a row by the lines it
 * touches, a run of refills at once; `EstimateEpochs` is EstimateReadBuffer in closed form;
 * `WriteBuffer.serviceWords` and `take` serve runs of words. test/sim/scalesim-buffers.test.ts
 * checks each against the word-by-word rules.
 *
 * Quirks kept because SCALE-Sim's reports contain them: DRAM reads count whole request lines; a
 * drain counts the padding of lines flushed early except in its last line; a row served by a refill
 * returns that refill's end even if it is earlier than the request.
 */
import { DoubleBufferedReadScratchpad } from './scratchpad.js';

export const ACTIVE_FRACTION = 0.5;
const READ_LATENCY = 1;
const HIT_LATENCY = 1;

/** Address -> fetch lines that hold it (CSR), for the addresses of one operand. */
interface LineIndex {
  lo: number;
  start: Int32Array;
  lines: Int32Array;
}

function indexLines(fetch: Int32Array, lineOf: (k: number) => number): LineIndex {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < fetch.length; i++) {
    const a = fetch[i];
    if (a === -1) continue;
    if (a < lo) lo = a;
    if (a > hi) hi = a;
  }
  if (lo === Infinity) return { lo: 0, start: new Int32Array(1), lines: new Int32Array(0) };
  const span = hi - lo + 1;
  const start = new Int32Array(span + 1);
  for (let i = 0; i < fetch.length; i++) if (fetch[i] !== -1) start[fetch[i] - lo + 1]++;
  for (let i = 0; i < span; i++) start[i + 1] += start[i];
  const fill = start.slice(0, span);
  const lines = new Int32Array(start[span]);
  let k = 0;
  for (let i = 0; i < fetch.length; i++) {
    const a = fetch[i];
    if (a === -1) continue;
    lines[fill[a - lo]++] = lineOf(k++);
  }
  return { lo, start, lines };
}

/**
 * Move the window on and charge the refill to a row issued at `cycle` that has waited `offset` so far.
 * read_buffer.service_reads: the wait for this refill is added to the row's offset, and a positive
 * wait once more (its `offset += potential_stall_cycles` followed by the same under `if
 * potential_stall_cycles > 0`); SCALE-Sim's committed USER goldens contain this.
 */
function refillOffset(pad: DoubleBufferedReadScratchpad, cycle: number, offset: number): number {
  const wait = pad.advance() - (cycle + offset);
  return offset + (wait > 0 ? 2 * wait : wait);
}

/**
 * refillOffset n times over, refills of `fill` cycles each, in closed form. Relative to the latest
 * refill's end, a row's time y becomes 0 after a refill that ends before it and fill - y after one
 * that ends after it; from the second refill on, y alternates between two values.
 */
function refillOffsets(pad: DoubleBufferedReadScratchpad, cycle: number, offset: number, n: number, fill: number): number {
  if (n <= 3) {
    for (let k = 0; k < n; k++) offset = refillOffset(pad, cycle, offset);
    return offset;
  }
  const y1 = afterRefill(cycle + offset - pad.lastFillEnd, fill);
  const y2 = afterRefill(y1, fill);
  const y = n % 2 === 0 ? y2 : afterRefill(y2, fill);
  return pad.advanceBy(n) + y - cycle;
}

/** A row's time relative to the latest refill's end, y, after one more refill of `fill` cycles (see refillOffset). */
function afterRefill(y: number, fill: number): number {
  return y >= fill ? 0 : fill - y;
}

export interface ReadBufferCounts {
  /** DRAM words requested (whole lines, as SCALE-Sim counts them). */
  dramReads: number;
  dramStartCycle: number;
  dramStopCycle: number;
}

/** The size of a prefetch order, without its addresses: entries (padding included) and valid words. */
export interface PrefetchSize {
  length: number;
  valid: number;
}

/**
 * USER-mode ifmap or filter SRAM. `fetch` is the operand's prefetch matrix flattened (-1 = padding),
 * served address by address with `serviceRow`; or only its size, for a caller that knows which
 * lines each demand row touches (`serviceLines`: an operand whose every address occurs once, where the
 * k-th valid word of the prefetch order is in line `lineOf(k)`).
 */
export class UserReadBuffer {
  readonly bandwidth: number;
  readonly activeWords: number;
  readonly prefetchWords: number;
  readonly units: number;
  private readonly index: LineIndex | null;
  private readonly fetchRows: number;
  private pad: DoubleBufferedReadScratchpad | null = null;
  private readonly lineWords: number;
  private initialLines = 0;
  private startCycle = 0;

  constructor(sizeWords: number, bandwidth: number, fetch: Int32Array | PrefetchSize) {
    this.bandwidth = bandwidth;
    this.activeWords = Math.ceil(sizeWords * ACTIVE_FRACTION);
    this.prefetchWords = sizeWords - this.activeWords;
    this.fetchRows = Math.ceil(fetch.length / bandwidth);
    let valid = 0;
    if (fetch instanceof Int32Array) {
      for (let i = 0; i < fetch.length; i++) if (fetch[i] !== -1) valid++;
    } else valid = fetch.valid;
    // read_buffer.prepare_hashed_buffer: a line of the hashed buffer holds ceil(size / 100) valid words of the prefetch order
    const eps = Math.ceil(sizeWords / 100);
    this.lineWords = eps;
    this.units = Math.floor(valid / eps) + 1;
    this.index = fetch instanceof Int32Array ? indexLines(fetch, (k) => Math.floor(k / eps)) : null;
  }

  /** The line of the k-th valid word of the prefetch order. */
  lineOf(k: number): number {
    return Math.floor(k / this.lineWords);
  }

  /** The scratchpad (after the first request or begin). */
  get window(): DoubleBufferedReadScratchpad {
    if (!this.pad) throw new RangeError('SCALE-Sim read buffer: no request served yet');
    return this.pad;
  }

  /** The scratchpad, its initial fill ending the cycle before `cycle` if this is the first request. */
  begin(cycle: number): DoubleBufferedReadScratchpad {
    return this.scratchpad(cycle);
  }

  private scratchpad(cycle: number): DoubleBufferedReadScratchpad {
    if (this.pad) return this.pad;
    const bw = this.bandwidth;
    const active = Math.min(this.units, Math.ceil(this.activeWords / this.lineWords));
    const prefetch = Math.min(this.units - active, Math.ceil(this.prefetchWords / this.lineWords));
    const refill = Math.ceil(this.prefetchWords / bw);
    this.initialLines = Math.min(Math.ceil(this.activeWords / bw), this.fetchRows);
    this.startCycle = cycle;
    this.pad = new DoubleBufferedReadScratchpad({
      units: this.units,
      activeUnits: active,
      prefetchUnits: prefetch,
      fillCycles: () => refill + READ_LATENCY,
      fillSum: (from, to) => (to - from + 1) * (refill + READ_LATENCY),
      initialFillEnd: cycle - 1,
    });
    return this.pad;
  }

  private held(pad: DoubleBufferedReadScratchpad, addr: number): boolean {
    if (!this.index) throw new RangeError('SCALE-Sim read buffer: built from a prefetch size, it serves lines, not addresses');
    const { lo, start, lines } = this.index;
    const a = addr - lo;
    if (a < 0 || a >= start.length - 1 || start[a] === start[a + 1]) {
      throw new RangeError(`SCALE-Sim read buffer: address ${addr} is demanded but not in the operand's prefetch order`);
    }
    for (let i = start[a]; i < start[a + 1]; i++) if (pad.holds(lines[i])) return true;
    return false;
  }

  /** Serve one demand row (n addresses, -1 = none) issued at `cycle`; returns the cycle it is served. */
  serviceRow(cycle: number, row: Int32Array, n: number): number {
    const pad = this.scratchpad(cycle);
    let offset = HIT_LATENCY;
    for (let i = 0; i < n; i++) {
      const addr = row[i];
      if (addr === -1) continue;
      while (!this.held(pad, addr)) offset = refillOffset(pad, cycle, offset);
    }
    return cycle + offset;
  }

  /**
   * Serve one demand row whose words lie in lines first..last, in that order, issued at `cycle`;
   * returns the cycle it is served. As serviceRow, with the refills a line waits for taken at once.
   */
  serviceLines(cycle: number, first: number, last: number): number {
    const pad = this.scratchpad(cycle);
    if (pad.holdsAll(first, last)) return cycle + HIT_LATENCY;
    let offset = HIT_LATENCY;
    for (let l = first; l <= last; l++) {
      const n = pad.advancesToHold(l);
      if (n > 0) offset = refillOffsets(pad, cycle, offset, n, Math.ceil(this.prefetchWords / this.bandwidth) + READ_LATENCY);
    }
    return cycle + offset;
  }

  counts(): ReadBufferCounts {
    const pad = this.pad;
    if (!pad) throw new RangeError('SCALE-Sim read buffer: no request served yet');
    return {
      dramReads: (this.initialLines + pad.refills * Math.ceil(this.prefetchWords / this.bandwidth)) * this.bandwidth,
      dramStartCycle: this.startCycle - this.initialLines,
      dramStopCycle: pad.lastFillEnd,
    };
  }
}

/** CALC-mode ifmap or filter SRAM: serves every request in one cycle and estimates its DRAM traffic. */
export class EstimateReadBuffer {
  private readonly itemsPerSet: number;
  private readonly activeSets = Math.round(ACTIVE_FRACTION * 100);
  private readonly prefetchSets = 100 - Math.round(ACTIVE_FRACTION * 100);
  private readonly lastSet: Int32Array;
  private readonly setSizes: number[] = [];
  private currentSetId = 0;
  private elemsCurrent = 0;
  private readStart = 0;
  private readEnd: number;
  private prefetchStart = -1;
  private lastPrefetchStart = -2;
  private lastPrefetchEnd = -1;
  private firstRequestCycle = 0;
  private firstSeen = false;
  private activeDone = false;
  private access = 0;
  private dramStart = NaN;
  private dramStop = NaN;

  constructor(
    sizeWords: number,
    private readonly bandwidth: number,
    private readonly lo: number,
    span: number,
  ) {
    this.itemsPerSet = Math.floor(sizeWords / 100);
    if (this.itemsPerSet < 1) throw new RangeError(`SCALE-Sim CALC mode needs SRAMs of at least 100 words (got ${sizeWords})`);
    this.readEnd = this.activeSets - 1;
    this.lastSet = new Int32Array(span).fill(-1);
  }

  serviceRow(cycle: number, row: Int32Array, n: number): number {
    if (!this.firstSeen) {
      for (let i = 0; i < n; i++) {
        if (row[i] > -1) {
          this.firstRequestCycle = cycle;
          this.firstSeen = true;
          break;
        }
      }
    }
    for (let i = 0; i < n; i++) if (row[i] !== -1) this.manage(cycle, row[i] - this.lo);
    return cycle + HIT_LATENCY;
  }

  private manage(cycle: number, a: number): void {
    const m = this.lastSet[a];
    const end = Math.min(this.currentSetId, this.readEnd + 1);
    if (m >= this.readStart && m < end) return; // hit in the active sets
    if (m === this.currentSetId) return; // already in the set being filled
    this.lastSet[a] = this.currentSetId;
    if (++this.elemsCurrent < this.itemsPerSet) return;
    this.setSizes.push(this.elemsCurrent);
    this.elemsCurrent = 0;
    this.currentSetId++;
    if (this.currentSetId !== this.readEnd + 1) return;
    const items = this.prefetchSets * this.itemsPerSet;
    if (!this.activeDone) {
      this.lastPrefetchEnd = this.firstRequestCycle - 1 - READ_LATENCY;
      const cyclesNeeded = Math.ceil(items / this.bandwidth);
      this.lastPrefetchStart = this.lastPrefetchEnd - cyclesNeeded + 1;
      this.prefetch(0, this.activeSets - 1);
      this.prefetchStart = this.readEnd + 1;
      this.activeDone = true;
    } else {
      this.prefetch(this.prefetchStart, this.prefetchStart + this.prefetchSets - 1);
      this.prefetchStart += this.prefetchSets;
    }
    this.readStart += this.prefetchSets;
    this.readEnd += this.prefetchSets;
    this.lastPrefetchStart = this.lastPrefetchEnd + 1;
    this.lastPrefetchEnd = cycle;
  }

  /** DRAM requests for sets [from, to], spread over the last prefetch interval (trace rows at its cycles + latency). */
  private prefetch(from: number, to: number): void {
    for (let i = from; i <= to; i++) this.access += this.setSizes[i] ?? 0;
    const cycles = this.lastPrefetchEnd - this.lastPrefetchStart + 1;
    if (Number.isNaN(this.dramStart)) this.dramStart = this.lastPrefetchStart + READ_LATENCY;
    this.dramStop = this.lastPrefetchStart + cycles - 1 + READ_LATENCY;
  }

  /** SCALE-Sim's complete_all_prefetches: fetch what the last sets still need. */
  finish(): void {
    if (this.elemsCurrent > 0) this.setSizes.push(this.elemsCurrent);
    else this.currentSetId--;
    if (!this.activeDone) {
      this.lastPrefetchEnd = -1 - READ_LATENCY;
      const sets = this.currentSetId + 1;
      const cyclesNeeded = Math.ceil((sets * this.itemsPerSet) / this.bandwidth);
      this.lastPrefetchStart = this.lastPrefetchEnd - cyclesNeeded + 1;
      this.prefetch(0, sets - 1);
      this.activeDone = true;
    } else {
      this.prefetch(this.prefetchStart, this.currentSetId);
    }
  }

  counts(): ReadBufferCounts {
    return { dramReads: this.access, dramStartCycle: this.dramStart, dramStopCycle: this.dramStop };
  }
}

/**
 * EstimateReadBuffer in closed form, for an operand whose demand is runs of words that are either new
 * or each a repeat of the word a fixed distance earlier (every address of a GEMM's operand, fold by
 * fold). The buffer's sets make epochs: a demanded word is fetched (a miss) unless it was demanded
 * before in the current epoch, and an epoch ends with the miss that fills its last set (the active
 * sets first, a prefetch half's sets after), after which nothing already fetched counts as held.
 * test/sim/scalesim-buffers.test.ts checks it against EstimateReadBuffer.
 */
export class EstimateEpochs {
  private readonly itemsPerSet: number;
  private readonly firstEpoch: number;
  private readonly epoch: number;
  /** Demand position at which the current epoch began. */
  private start = 0;
  private inEpoch = 0;
  misses = 0;
  epochs = 0;
  private lastEndCycle = NaN;

  constructor(
    sizeWords: number,
    private readonly bandwidth: number,
  ) {
    this.itemsPerSet = Math.floor(sizeWords / 100);
    if (this.itemsPerSet < 1) throw new RangeError(`SCALE-Sim CALC mode needs SRAMs of at least 100 words (got ${sizeWords})`);
    this.firstEpoch = Math.round(ACTIVE_FRACTION * 100) * this.itemsPerSet;
    this.epoch = (100 - Math.round(ACTIVE_FRACTION * 100)) * this.itemsPerSet;
  }

  /**
   * Demand words at positions [pos, pos + length) of the operand's demand, each new (distance
   * Infinity) or a repeat of the word `distance` positions earlier. Returns the offsets, from pos, of
   * the words that end an epoch.
   */
  run(pos: number, length: number, distance: number): number[] {
    const ends: number[] = [];
    const stop = pos + length;
    let x = pos;
    while (x < stop) {
      // a word is fetched while its previous demand (distance earlier) is before the epoch's start
      const fetchedUntil = Math.min(stop, this.start + distance);
      if (x >= fetchedUntil) break;
      const need = (this.epochs === 0 ? this.firstEpoch : this.epoch) - this.inEpoch;
      if (fetchedUntil - x < need) {
        this.inEpoch += fetchedUntil - x;
        this.misses += fetchedUntil - x;
        x = fetchedUntil;
        continue;
      }
      const end = x + need - 1;
      this.misses += need;
      this.inEpoch = 0;
      this.epochs++;
      this.start = end + 1;
      ends.push(end - pos);
      x = end + 1;
    }
    return ends;
  }

  /** The cycle of the demand row that ended the latest epoch. */
  epochEndedAt(cycle: number): void {
    this.lastEndCycle = cycle;
  }

  /** EstimateReadBuffer.counts after finish(), given the cycle of the first request. */
  counts(firstRequestCycle: number): ReadBufferCounts {
    const ips = this.itemsPerSet;
    let lastPrefetchEnd: number;
    let cyclesNeeded: number;
    if (this.epochs > 0) {
      lastPrefetchEnd = firstRequestCycle - 1 - READ_LATENCY;
      cyclesNeeded = Math.ceil(this.epoch / this.bandwidth);
    } else {
      lastPrefetchEnd = -1 - READ_LATENCY;
      cyclesNeeded = Math.ceil((Math.ceil(this.misses / ips) * ips) / this.bandwidth);
    }
    const lastPrefetchStart = lastPrefetchEnd - cyclesNeeded + 1;
    const stop = this.epochs > 0 ? this.lastEndCycle : lastPrefetchEnd;
    return { dramReads: this.misses, dramStartCycle: lastPrefetchStart + READ_LATENCY, dramStopCycle: stop + READ_LATENCY };
  }
}

export interface WriteBufferCounts {
  dramWrites: number;
  dramStartCycle: number;
  dramStopCycle: number;
}

/** The ofmap SRAM (SCALE-Sim write_buffer): half active, half draining to DRAM. */
export class WriteBuffer {
  private readonly active: number;
  private readonly drainWords: number;
  private free: number;
  private lineFill = 0;
  private lines = 0;
  /** Valid words of lines closed early (forced flushes before a drain). */
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
    this.active = Math.ceil(sizeWords * ACTIVE_FRACTION);
    this.drainWords = sizeWords - this.active;
    this.free = sizeWords;
  }

  /** Write one demand row issued at `cycle`; returns the cycle the row is accepted. */
  serviceRow(cycle: number, row: Int32Array, n: number): number {
    let words = 0;
    for (let i = 0; i < n; i++) if (row[i] !== -1) words++;
    return this.serviceWords(cycle, words);
  }

  /**
   * Write a demand row of `words` valid words issued at `cycle`; returns the cycle it is accepted.
   * write_buffer.service_writes word by word: while a drain is running, a word that leaves no room
   * waits for its end; otherwise a word that fills the active half starts a drain. Done here by runs
   * of words between those events.
   */
  serviceWords(cycle: number, words: number): number {
    let current = cycle;
    let left = words;
    while (left > 0) {
      if (current < this.drainEndCycle) {
        const j = Math.min(left, Math.max(1, this.free));
        this.take(j);
        left -= j;
        if (this.free <= 0) current = this.drainEndCycle;
      } else {
        const j = Math.min(left, Math.max(1, this.free - this.active + 1));
        this.take(j);
        left -= j;
        if (this.free < this.active) {
          this.flush();
          this.drainEndCycle = this.drain(current);
        }
      }
    }
    return current;
  }

  /**
   * Words written at `cycle` and later, before the first that would wait or start a drain: how many
   * may be taken with `take` and no event (the caller knows the cycles of its rows).
   */
  get freeBeforeEvent(): { draining: number; idle: number } {
    // while draining (cycle < drainEnd) a word waits when free drops to 0; otherwise one starts a drain when free drops below active
    return { draining: Math.max(this.free, 1) - 1, idle: Math.max(this.free - this.active + 1, 1) - 1 };
  }

  /** Cycle the running (or last) drain ends. */
  get drainEnd(): number {
    return this.drainEndCycle;
  }

  /** Write `j` words that trigger nothing (see freeBeforeEvent). */
  take(j: number): void {
    this.free -= j;
    this.lineFill += j;
    if (this.lineFill >= this.bandwidth) {
      this.lines += Math.floor(this.lineFill / this.bandwidth);
      this.lineFill %= this.bandwidth;
    }
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

  /** Drain everything left, starting at `cycle` (SCALE-Sim's empty_all_buffers). */
  finish(cycle: number): void {
    this.flush();
    while (this.drainStart < this.lines) {
      this.drainEndCycle = this.drain(cycle);
      cycle = this.drainEndCycle + 1;
    }
  }

  counts(): WriteBufferCounts {
    return { dramWrites: this.access, dramStartCycle: this.dramStart, dramStopCycle: this.dramStop };
  }
}
