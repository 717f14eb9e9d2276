import { describe, it, expect } from 'vitest';
import { formatDuration, ProgressBar } from '../../trainer/progress-bar.js';

/** A bar on a fake clock that records what it writes. */
function fakeBar(total: number, tty: boolean) {
  let t = 0;
  const out: string[] = [];
  const bar = new ProgressBar('epoch 1/3', total, { write: (s) => out.push(s), tty, now: () => t, width: 10 });
  return { bar, out, advance: (ms: number) => (t += ms) };
}

describe('the epoch progress bar', () => {
  it('shows steps, examples per second and the ETA from the rate so far', () => {
    const { bar, advance } = fakeBar(100, false);
    advance(10_000);
    bar.tick(25, 400); // 25 steps in 10 s: 75 more take 30 s
    expect(bar.line()).toBe('epoch 1/3 [###.......]  25/100 steps  40.0 examples/s  ETA 0:30');
  });

  it('off a terminal prints a plain line at each tenth and one at the end, not one per step', () => {
    const { bar, out, advance } = fakeBar(20, false);
    for (let i = 0; i < 20; i++) {
      advance(500);
      bar.tick(1, 16);
    }
    bar.done();
    expect(out).toHaveLength(10); // 9 tenths before the end, then the final line
    expect(out.every((l) => l.endsWith('\n') && !l.includes('\r'))).toBe(true);
    expect(out[0]).toBe('epoch 1/3 [#.........]  2/20 steps  32.0 examples/s  ETA 0:09\n');
    expect(out.at(-1)).toBe('epoch 1/3 [##########] 20/20 steps  32.0 examples/s  in 0:10\n');
  });

  it('on a terminal redraws in place at most every 100 ms and ends the line when done', () => {
    const { bar, out, advance } = fakeBar(1000, true);
    for (let i = 0; i < 1000; i++) {
      advance(1);
      bar.tick(1, 1);
    }
    bar.done();
    expect(out.length).toBeLessThanOrEqual(12);
    expect(out.every((l) => l.startsWith('\r'))).toBe(true);
    expect(out.slice(0, -1).every((l) => !l.endsWith('\n'))).toBe(true);
    expect(out.at(-1)).toMatch(/1000\/1000 steps .* in 0:01/);
    expect(out.at(-1)!.endsWith('\x1b[K\n')).toBe(true); // the rest of the line cleared, then ended
    bar.done(); // once only
    expect(out.at(-1)).toMatch(/\n$/);
  });

  it('formats durations as m:ss and h:mm:ss', () => {
    expect([formatDuration(0), formatDuration(59.4), formatDuration(61), formatDuration(3600 + 62), formatDuration(Infinity)]).toEqual([
      '0:00',
      '0:59',
      '1:01',
      '1:01:02',
      '?',
    ]);
  });
});
