import { describe, expect, it } from 'vitest';
import { ProgressBar } from './progress-bar.js';

function recorder(isTTY: boolean) {
  const written: string[] = [];
  let nowMs = 0;
  const bar = new ProgressBar({ isTTY, write: (text: string) => written.push(text) }, () => nowMs);
  return { bar, written, advance: (ms: number) => (nowMs += ms) };
}

describe('ProgressBar', () => {
  it('redraws one terminal line at most every 100 ms, and always at 100 %', () => {
    const { bar, written, advance } = recorder(true);
    for (let i = 0; i <= 100; i++) {
      bar.update('policy switchyard (5/5)', i / 100);
      advance(10);
    }
    bar.finish();
    const draws = written.filter((w) => w.includes('%'));
    expect(draws.length).toBeGreaterThanOrEqual(10);
    expect(draws.length).toBeLessThanOrEqual(13);
    expect(draws.at(-1)).toContain('100%  policy switchyard (5/5)');
    expect(draws.every((w) => w.startsWith('\r'))).toBe(true);
    expect(written.at(-1)).toMatch(/policy switchyard \(5\/5\): done in 1\.0 s\n$/);
  });

  it('prints a line per phase start and end when not on a terminal', () => {
    const { bar, written, advance } = recorder(false);
    bar.update('policy random (1/2)', 0);
    bar.update('policy random (1/2)', 0.5);
    advance(2_000);
    bar.update('policy switchyard (2/2)', Number.NaN);
    bar.finish();
    expect(written).toEqual([
      'policy random (1/2) …\n',
      'policy random (1/2): done in 2.0 s\n',
      'policy switchyard (2/2) …\n',
      'policy switchyard (2/2): done in 0.0 s\n',
    ]);
  });
});
