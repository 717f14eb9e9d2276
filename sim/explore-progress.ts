/**
 * The progress bar of an exploration, on stderr: points done, points/s and the time left,
 *
 *   explore [########............]  41,000/100,000 points  4,120 points/s  ETA 0:14  (2 workers)
 *
 * redrawn in place on a terminal (at most every 100 ms); elsewhere one line at every tenth and one
 * at the end: trainer/progress-bar.ts's CountingBar, counting points.
 */
import { CountingBar, type ProgressBarOptions } from '../trainer/progress-bar.js';

export class PointsBar extends CountingBar {
  private points = 0;
  private note = '';

  constructor(total: number, opts: ProgressBarOptions = {}) {
    super(total, opts);
  }

  protected count(): number {
    return this.points;
  }

  /** The line for the current state. */
  line(): string {
    const s = this.elapsedS();
    const rate = s > 0 ? this.points / s : 0;
    const n = (x: number): string => Math.round(x).toLocaleString('en-US');
    const bar = this.bar(this.total > 0 ? this.points / this.total : 1);
    return `explore ${bar} ${n(this.points)}/${n(this.total)} points  ${n(rate)} points/s  ${this.timeLeft()}${this.note ? `  (${this.note})` : ''}`;
  }

  /** `done` points finished in all; `note` (e.g. "2 workers") shown after the time. */
  update(done: number, note = this.note): void {
    this.points = done;
    this.note = note;
    this.show();
  }

  end(): void {
    this.done();
  }
}
