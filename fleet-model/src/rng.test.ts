import { describe, expect, it } from 'vitest';
import { createRng } from './rng.js';

function take(seed: number, n: number): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => rng());
}

describe('createRng', () => {
  it('replays the same stream for the same seed', () => {
    expect(take(42, 100)).toEqual(take(42, 100));
  });

  it('gives different streams for different seeds', () => {
    expect(take(1, 10)).not.toEqual(take(2, 10));
  });

  it.each([0, 1, 123456789, -7, 2 ** 32 - 1])('stays in [0, 1) and is roughly uniform for seed %d', (seed) => {
    const values = take(seed, 20000);
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
  });
});
