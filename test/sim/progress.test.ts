import { describe, it, expect, vi, afterEach } from 'vitest';
import { Progress } from '../../sim/progress.js';

/** Everything written to stderr while f runs. */
function stderrOf(f: () => void): string {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => {
    chunks.push(String(c));
    return true;
  });
  try {
    f();
  } finally {
    spy.mockRestore();
  }
  return chunks.join('');
}

describe('sim/progress.ts', () => {
  afterEach(() => vi.restoreAllMocks());

  it('off a TTY: a line when each step starts (so a log shows where a run stopped) and one when it finishes', () => {
    const p = new Progress(3, { tty: false });
    expect(stderrOf(() => p.step('export images'))).toBe('[1/3] export images ...\n');
    expect(stderrOf(() => p.detail('layer 1/2'))).toBe(''); // details only on a TTY
    p.note('images reused');
    expect(stderrOf(() => p.say('note: a note'))).toBe('note: a note\n');
    const next = stderrOf(() => p.step('verify'));
    expect(next).toMatch(/^\[1\/3\] done in \d+\.\d s \(images reused\)\n\[2\/3\] verify \.\.\.\n$/);
    expect(stderrOf(() => p.done())).toMatch(/^\[2\/3\] done in \d+\.\d s\n$/);
    expect(stderrOf(() => p.done())).toBe(''); // nothing is running
  });

  it('on a TTY: one line per step, updated in place', () => {
    const p = new Progress(2, { tty: true });
    expect(stderrOf(() => p.step('export'))).toBe('[1/2] export ...');
    expect(stderrOf(() => p.detail('layer 1/2'))).toBe('\r[1/2] export ... layer 1/2\x1b[K');
    expect(stderrOf(() => p.say('note: x'))).toBe('\rnote: x\x1b[K\n[1/2] export ...');
    p.note('cached');
    expect(stderrOf(() => p.step('write'))).toMatch(/^ \(cached\) \d+\.\d s\n\[2\/2\] write \.\.\.$/);
    stderrOf(() => p.detail('half'));
    const last = stderrOf(() => p.done());
    expect(last).toMatch(/^\r\[2\/2\] write \.\.\. \d+\.\d s/);
    expect(last.endsWith(' s\x1b[K\n')).toBe(true); // the rest of the line cleared
  });
});
