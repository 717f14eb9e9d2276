/**
 * A step progress display on stderr.
 *
 * On a TTY each step is one line, updated in place: "[2/5] export images ... 1.2 s", with the
 * step's detail ("reference layer 5/12") shown on it while it runs. Elsewhere (a pipe, a log file,
 * CI) each step prints a line when it starts, "[2/5] export images ...", and one when it finishes,
 * "[2/5] done in 1.2 s", so a log shows which step a run was in when it stopped; details are not
 * printed there.
 */
export class Progress {
  private k = 0;
  private t = performance.now();
  private label = '';
  /** Remarks about the current step (note()), printed when it finishes. */
  private notes: string[] = [];
  /** A detail was written on the current step's line (a TTY only). */
  private detailed = false;
  private readonly tty: boolean;

  constructor(
    private readonly total: number,
    opts: { tty?: boolean } = {},
  ) {
    this.tty = opts.tty ?? Boolean(process.stderr.isTTY);
  }

  step(label: string): void {
    this.finish();
    this.k++;
    this.label = label;
    this.t = performance.now();
    process.stderr.write(`${this.prefix()} ${label} ...${this.tty ? '' : '\n'}`);
  }

  private prefix(): string {
    return `[${this.k}/${this.total}]`;
  }

  private finish(): void {
    if (!this.label) return;
    const s = ((performance.now() - this.t) / 1000).toFixed(1);
    const notes = this.notes.map((n) => ` (${n})`).join('');
    if (this.tty) process.stderr.write(this.detailed ? `\r${this.prefix()} ${this.label}${notes} ... ${s} s\x1b[K\n` : `${notes} ${s} s\n`);
    else process.stderr.write(`${this.prefix()} done in ${s} s${notes}\n`);
    this.label = '';
    this.notes = [];
    this.detailed = false;
  }

  /** Where the current step is (e.g. "reference layer 5/12"), shown in place on a TTY only. */
  detail(text: string): void {
    if (!this.tty || !this.label) return;
    process.stderr.write(`\r${this.prefix()} ${this.label} ... ${text}\x1b[K`);
    this.detailed = true;
  }

  /** A line of its own (e.g. "note: ..."), printed now, above the current step's line on a TTY. */
  say(text: string): void {
    if (this.tty && this.label) {
      process.stderr.write(`\r${text}\x1b[K\n${this.prefix()} ${this.label} ...`);
      this.detailed = false;
    } else process.stderr.write(`${text}\n`);
  }

  /** A remark about the current step, printed when it finishes. */
  note(text: string): void {
    this.notes.push(text);
  }

  done(): void {
    this.finish();
  }
}
