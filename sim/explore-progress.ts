/**
 * The progress bar of an exploration, on stderr: points done, points/s and the time left,
 *
 *   explore [########............]  41,000/100,000 points  4,120 points/s  ETA 0:14  (2 workers)
 *
 * redrawn in place on a terminal (at most every 100 ms); elsewhere one line at every tenth and one
 * at the end (as trainer/progress-bar.ts, whose duration format it shares).
 */
import { formatDuration } from '../trainer/progress-bar.js';

export class PointsBar {
  private done = 0;
  private readonly t0: number;
  private lastDraw = -Infinity;
  private lastTenth = 0;
  private note = '';

  constructor(
    private readonly total: number,
    private readonly opts: { tty?: boolean; write?: (s: string) => void; now?: () => number; width?: number } = {},
  ) {
    this.t0 = this.now();
  }

  private now(): number {
    return this.opts.now?.() ?? performance.now();
  }
  private write(s: string): void {
    if (this.opts.write) this.opts.write(s);
    else process.stderr.write(s);
  }
  private get tty(): boolean {
    return this.opts.tty ?? Boolean(process.stderr.isTTY);
  }

  /** The line for the current state. */
  line(): string {
    const width = this.opts.width ?? 20;
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const filled = Math.round(frac * width);
    const s = (this.now() - this.t0) / 1000;
    const rate = s > 0 ? this.done / s : 0;
    const tail = this.done >= this.total ? `in ${formatDuration(s)}` : `ETA ${rate > 0 ? formatDuration((this.total - this.done) / rate) : '?'}`;
    const n = (x: number): string => Math.round(x).toLocaleString('en-US');
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    return `explore ${bar} ${n(this.done)}/${n(this.total)} points  ${n(rate)} points/s  ${tail}${this.note ? `  (${this.note})` : ''}`;
  }

  /** `done` points finished in all; `note` (e.g. "2 workers") shown after the time. */
  update(done: number, note = this.note): void {
    this.done = done;
    this.note = note;
    if (this.tty) {
      const t = this.now();
      if (t - this.lastDraw >= 100) {
        this.lastDraw = t;
        this.write(`\r${this.line()}\x1b[K`);
      }
    } else {
      const tenth = Math.floor((10 * this.done) / Math.max(1, this.total));
      if (tenth > this.lastTenth && this.done < this.total) {
        this.lastTenth = tenth;
        this.write(`${this.line()}\n`);
      }
    }
  }

  end(): void {
    this.write(this.tty ? `\r${this.line()}\x1b[K\n` : `${this.line()}\n`);
  }
}
