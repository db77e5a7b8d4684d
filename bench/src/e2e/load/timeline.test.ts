import { describe, expect, it } from 'vitest';
import { defaultMix, pickByWeight, traceSizes } from './load-mix.js';
import { planArrivals, SessionScript } from './timeline.js';

const mix = defaultMix();

describe('planArrivals', () => {
  it('is the same timeline for the same seed, and another for another seed', () => {
    const options = { ratePerS: 20, durationMs: 10_000, seed: 7, mix };
    expect(planArrivals(options)).toEqual(planArrivals(options));
    expect(planArrivals({ ...options, seed: 8 })).not.toEqual(planArrivals(options));
  });

  it('is open-loop: a sorted schedule fixed in advance, at the offered rate', () => {
    const timeline = planArrivals({ ratePerS: 50, durationMs: 60_000, seed: 1, mix });
    // 3000 expected; a Poisson count's standard deviation is √3000 ≈ 55.
    expect(timeline.length).toBeGreaterThan(2800);
    expect(timeline.length).toBeLessThan(3200);
    for (let i = 1; i < timeline.length; i++) expect(timeline[i]!.atMs).toBeGreaterThanOrEqual(timeline[i - 1]!.atMs);
    expect(timeline[0]!.atMs).toBeGreaterThanOrEqual(0);
    expect(timeline.at(-1)!.atMs).toBeLessThan(60_000);
    expect(timeline.map((r) => r.index)).toEqual(timeline.map((_, i) => i));
    // Exponential gaps: their mean is 1000 / rate and their spread about as large as the mean.
    const gaps = timeline.slice(1).map((r, i) => r.atMs - timeline[i]!.atMs);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length);
    expect(mean).toBeGreaterThan(18);
    expect(mean).toBeLessThan(22);
    expect(sd / mean).toBeGreaterThan(0.85);
    expect(sd / mean).toBeLessThan(1.15);
  });

  it('follows the class and model shares and carries each class deadline', () => {
    const timeline = planArrivals({ ratePerS: 100, durationMs: 60_000, seed: 3, mix });
    const share = (pred: (r: (typeof timeline)[number]) => boolean): number =>
      timeline.filter(pred).length / timeline.length;
    expect(share((r) => r.sloClass === 'interactive')).toBeCloseTo(0.6, 1);
    expect(share((r) => r.sloClass === 'batch')).toBeCloseTo(0.15, 1);
    expect(share((r) => r.model === 'llama-3.1-8b')).toBeCloseTo(0.75, 1);
    expect(timeline.filter((r) => r.sloClass === 'interactive').every((r) => r.deadlineMs === undefined)).toBe(true);
    expect(timeline.filter((r) => r.sloClass === 'standard').every((r) => r.deadlineMs === 15_000)).toBe(true);
  });

  it('keeps token sizes within the caps and at least 1', () => {
    const capped = defaultMix({ maxInputTokens: 300, maxOutputTokens: 20 });
    const timeline = planArrivals({ ratePerS: 50, durationMs: 20_000, seed: 5, mix: capped });
    expect(timeline.every((r) => r.inputTokens >= 1 && r.inputTokens <= 300)).toBe(true);
    expect(timeline.every((r) => r.maxOutputTokens >= 1 && r.maxOutputTokens <= 20)).toBe(true);
    expect(timeline.some((r) => r.inputTokens === 300)).toBe(true);
  });

  it('samples trace sizes from rows that have output, and refuses a trace without any', () => {
    const sizes = traceSizes([
      { arrivalMs: 0, inputTokens: 100, outputTokens: 0 },
      { arrivalMs: 1, inputTokens: 200, outputTokens: 30 },
    ]);
    const timeline = planArrivals({ ratePerS: 20, durationMs: 5000, seed: 2, mix: { ...mix, sizes } });
    expect(timeline.every((r) => r.inputTokens === 200 && r.maxOutputTokens === 30)).toBe(true);
    expect(() => traceSizes([{ arrivalMs: 0, inputTokens: 5, outputTokens: 0 }])).toThrow(RangeError);
  });
});

describe('pickByWeight', () => {
  it('never picks a zero-weight item and refuses an all-zero list', () => {
    const items = [
      { name: 'a', weight: 0 },
      { name: 'b', weight: 1 },
      { name: 'c', weight: 0 },
    ];
    for (const u of [0, 0.3, 0.999_999]) expect(pickByWeight(items, () => u).name).toBe('b');
    expect(() => pickByWeight([{ weight: 0 }], () => 0.5)).toThrow(RangeError);
  });
});

/** The first 20 turns of a session's script. */
function firstTurns(seed: number, session: number): unknown[] {
  const script = new SessionScript(seed, session, 800);
  return Array.from({ length: 20 }, () => script.next());
}

describe('SessionScript', () => {
  it('draws the same turns for the same seed and session, others for another session', () => {
    expect(firstTurns(1, 0)).toEqual(firstTurns(1, 0));
    expect(firstTurns(1, 1)).not.toEqual(firstTurns(1, 0));
  });

  it('thinks for exponential times of the configured mean and sends agent-sized turns', () => {
    const script = new SessionScript(9, 0, 500);
    const turns = Array.from({ length: 4000 }, () => script.next());
    const mean = turns.reduce((a, t) => a + t.thinkMs, 0) / turns.length;
    expect(mean).toBeGreaterThan(470);
    expect(mean).toBeLessThan(530);
    expect(turns.every((t) => t.thinkMs >= 0)).toBe(true);
    expect(turns.every((t) => t.inputTokens >= 50 && t.inputTokens < 450)).toBe(true);
    expect(turns.every((t) => t.maxOutputTokens >= 20 && t.maxOutputTokens < 120)).toBe(true);
    expect(new SessionScript(9, 0, 0).next().thinkMs).toBeCloseTo(0, 9);
    expect(() => new SessionScript(9, 0, -1)).toThrow(RangeError);
  });
});
