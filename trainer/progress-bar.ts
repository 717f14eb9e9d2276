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

export class ProgressBar {
  private steps = 0;
  private examples = 0;
  private readonly t0: number;
  private lastDraw = -Infinity;
  private lastTenth = 0;
  private finished = false;
  private readonly write: (s: string) => void;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly width: number;

  constructor(
    private readonly label: string,
    private readonly totalSteps: number,
    opts: ProgressBarOptions = {},
  ) {
    this.write = opts.write ?? ((s) => void process.stderr.write(s));
    this.tty = opts.tty ?? Boolean(process.stderr.isTTY);
    this.now = opts.now ?? (() => performance.now());
    this.width = opts.width ?? 20;
    this.t0 = this.now();
  }

  /** The line for the current state (without a line ending). */
  line(): string {
    const total = Math.max(1, this.totalSteps);
    const frac = Math.min(1, this.steps / total);
    const filled = Math.round(frac * this.width);
    const elapsedS = (this.now() - this.t0) / 1000;
    const rate = elapsedS > 0 ? this.examples / elapsedS : 0;
    const stepRate = elapsedS > 0 ? this.steps / elapsedS : 0;
    const tail =
      this.finished || this.steps >= this.totalSteps
        ? `in ${formatDuration(elapsedS)}`
        : `ETA ${stepRate > 0 ? formatDuration((this.totalSteps - this.steps) / stepRate) : '?'}`;
    const w = String(this.totalSteps).length;
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}]`;
    return `${this.label} ${bar} ${String(this.steps).padStart(w)}/${this.totalSteps} steps  ${rate.toFixed(1)} examples/s  ${tail}`;
  }

  /** `steps` more steps done, covering `examples` examples. */
  tick(steps: number, examples: number): void {
    this.steps += steps;
    this.examples += examples;
    if (this.tty) {
      const t = this.now();
      if (t - this.lastDraw >= 100) {
        this.lastDraw = t;
        this.write(`\r${this.line()}\x1b[K`);
      }
    } else {
      const tenth = Math.floor((10 * this.steps) / Math.max(1, this.totalSteps));
      if (tenth > this.lastTenth && this.steps < this.totalSteps) {
        this.lastTenth = tenth;
        this.write(`${this.line()}\n`);
      }
    }
  }

  /** The final line (elapsed time instead of ETA). */
  done(): void {
    if (this.finished) return;
    this.finished = true;
    this.write(this.tty ? `\r${this.line()}\x1b[K\n` : `${this.line()}\n`);
  }
}
