/** A step progress display on stderr: "[2/5] export images ... 1.2 s". Quiet when not a TTY and CI is set. */
export class Progress {
  private k = 0;
  private t = performance.now();
  private label = '';
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(private readonly total: number) {}

  step(label: string): void {
    this.finish();
    this.k++;
    this.label = label;
    this.t = performance.now();
    if (this.tty) process.stderr.write(`[${this.k}/${this.total}] ${label} ...`);
  }

  private finish(): void {
    if (!this.label) return;
    const s = ((performance.now() - this.t) / 1000).toFixed(1);
    if (this.tty) process.stderr.write(` ${s} s\n`);
    else process.stderr.write(`[${this.k}/${this.total}] ${this.label} ... ${s} s\n`);
    this.label = '';
  }

  /** A remark about the current step, printed when it finishes. */
  note(text: string): void {
    this.label += ` (${text})`;
  }

  done(): void {
    this.finish();
  }
}
