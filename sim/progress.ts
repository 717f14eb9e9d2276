/** A step progress display on stderr: "[2/5] export images ... 1.2 s". Quiet when not a TTY and CI is set. */
export class Progress {
  private k = 0;
  private t = performance.now();
  private label = '';
  /** A detail was written on the current step's line (a TTY only). */
  private detailed = false;
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
    if (this.tty) process.stderr.write(this.detailed ? `\r[${this.k}/${this.total}] ${this.label} ... ${s} s\x1b[K\n` : ` ${s} s\n`);
    else process.stderr.write(`[${this.k}/${this.total}] ${this.label} ... ${s} s\n`);
    this.label = '';
    this.detailed = false;
  }

  /** Where the current step is (e.g. "reference layer 5/12"), shown in place on a TTY only. */
  detail(text: string): void {
    if (!this.tty || !this.label) return;
    process.stderr.write(`\r[${this.k}/${this.total}] ${this.label} ... ${text}\x1b[K`);
    this.detailed = true;
  }

  /** A line of its own (e.g. "note: ..."), printed now, above the current step's line on a TTY. */
  say(text: string): void {
    if (this.tty && this.label) {
      process.stderr.write(`\r${text}\x1b[K\n[${this.k}/${this.total}] ${this.label} ...`);
      this.detailed = false;
    } else process.stderr.write(`${text}\n`);
  }

  /** A remark about the current step, printed when it finishes. */
  note(text: string): void {
    this.label += ` (${text})`;
  }

  done(): void {
    this.finish();
  }
}
