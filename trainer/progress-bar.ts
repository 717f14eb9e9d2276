/**
 * A progress bar for a loop of known length (the steps of one training epoch), on stderr:
 *
 *   epoch 1/3 [##########..........]  60/120 steps  412.3 examples/s  ETA 0:19
 *
 * On a terminal the line is redrawn in place (at most every 100 ms) and ends with the elapsed time
 * when done. Elsewhere (a log file, CI) it prints a plain line at every tenth of the loop and one at
 * the end, so a log stays short and readable. (sim/progress.ts shows named steps; this one counts.)
 */

export interface ProgressBarOptions {
  /** Where the bar goes (default: process.stderr.write). */
  write?: (s: string) => void;
  /** Redraw in place (default: whether stderr is a terminal). */
  tty?: boolean;
  /** The clock in milliseconds (default performance.now; tests pass their own). */
  now?: () => number;
  /** Characters of the bar itself (default 20). */
  width?: number;
}

/** Seconds as m:ss or h:mm:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * What every counting bar shares: the clock, where it writes, the in-place redraw on a terminal (at
 * most every 100 ms), a line at each tenth elsewhere, and the final line. A subclass says how far it
 * is (`count`) and what its line reads (`line`), using `bar` and `timeLeft`.
 */
export abstract class CountingBar {
  protected readonly t0: number;
  private lastDraw = -Infinity;
  private lastTenth = 0;
  protected finished = false;
  private readonly write: (s: string) => void;
  private readonly tty: boolean;
  protected readonly now: () => number;
  protected readonly width: number;

  constructor(
    protected readonly total: number,
    opts: ProgressBarOptions = {},
  ) {
    this.write = opts.write ?? ((s) => void process.stderr.write(s));
    this.tty = opts.tty ?? Boolean(process.stderr.isTTY);
    this.now = opts.now ?? (() => performance.now());
    this.width = opts.width ?? 20;
    this.t0 = this.now();
  }

  /** How many of `total` are done. */
  protected abstract count(): number;

  /** The line for the current state (without a line ending). */
  abstract line(): string;

  /** `[####......]` for a fraction done. */
  protected bar(frac: number): string {
    const filled = Math.round(Math.min(1, frac) * this.width);
    return `[${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}]`;
  }

  /** Seconds since the start. */
  protected elapsedS(): number {
    return (this.now() - this.t0) / 1000;
  }

  /** "in m:ss" when done, else "ETA m:ss" from the rate so far. */
  protected timeLeft(): string {
    const s = this.elapsedS();
    const done = this.count();
    if (this.finished || done >= this.total) return `in ${formatDuration(s)}`;
    const rate = s > 0 ? done / s : 0;
    return `ETA ${rate > 0 ? formatDuration((this.total - done) / rate) : '?'}`;
  }

  /** Show the new state: redrawn in place on a terminal, else a line at each tenth. */
  protected show(): void {
    if (this.tty) {
      const t = this.now();
      if (t - this.lastDraw >= 100) {
        this.lastDraw = t;
        this.write(`\r${this.line()}\x1b[K`);
      }
    } else {
      const tenth = Math.floor((10 * this.count()) / Math.max(1, this.total));
      if (tenth > this.lastTenth && this.count() < this.total) {
        this.lastTenth = tenth;
        this.write(`${this.line()}\n`);
      }
    }
  }

  /** The final line (elapsed time instead of ETA), once. */
  done(): void {
    if (this.finished) return;
    this.finished = true;
    this.write(this.tty ? `\r${this.line()}\x1b[K\n` : `${this.line()}\n`);
  }
}

/** The steps of a loop (an epoch), with the examples they cover. */
export class ProgressBar extends CountingBar {
  private steps = 0;
  private examples = 0;

  constructor(
    private readonly label: string,
    totalSteps: number,
    opts: ProgressBarOptions = {},
  ) {
    super(totalSteps, opts);
  }

  protected count(): number {
    return this.steps;
  }

  line(): string {
    const elapsedS = this.elapsedS();
    const rate = elapsedS > 0 ? this.examples / elapsedS : 0;
    const w = String(this.total).length;
    const bar = this.bar(this.steps / Math.max(1, this.total));
    return `${this.label} ${bar} ${String(this.steps).padStart(w)}/${this.total} steps  ${rate.toFixed(1)} examples/s  ${this.timeLeft()}`;
  }

  /** `steps` more steps done, covering `examples` examples. */
  tick(steps: number, examples: number): void {
    this.steps += steps;
    this.examples += examples;
    this.show();
  }
}
