import { createRng } from '@switchyard/fleet-model';
import { describe, expect, it } from 'vitest';
import {
  agentSessions,
  AZURE_CONV_SIZES,
  azureLikeSizes,
  bursty,
  diurnal,
  poisson,
  type SizeSampler,
} from './synthetic.js';
import type { WorkloadRequest } from './workload.js';

const unitSizes: SizeSampler = () => ({ inputTokens: 1, outputTokens: 1 });

function perSecondCounts(requests: readonly WorkloadRequest[], durationMs: number): number[] {
  const counts = Array.from({ length: Math.ceil(durationMs / 1000) }, () => 0);
  for (const request of requests) counts[Math.floor(request.arrivalMs / 1000)]! += 1;
  return counts;
}

function meanAndVariance(values: readonly number[]): { mean: number; variance: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  return { mean, variance: values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length };
}

function median(values: number[]): number {
  return values.sort((a, b) => a - b)[values.length >> 1]!;
}

function expectSortedWithin(requests: readonly WorkloadRequest[], durationMs: number): void {
  expect(requests.every((request, index) => index === 0 || requests[index - 1]!.arrivalMs <= request.arrivalMs)).toBe(
    true,
  );
  expect(requests.every((request) => request.arrivalMs >= 0 && request.arrivalMs < durationMs)).toBe(true);
}

const generators: readonly (readonly [string, (seed: number) => WorkloadRequest[]])[] = [
  ['poisson', (seed) => poisson({ ratePerSecond: 5, durationMs: 60_000, seed, sizes: azureLikeSizes })],
  [
    'bursty',
    (seed) =>
      bursty({
        baseRatePerSecond: 1,
        burstRatePerSecond: 20,
        meanBurstMs: 2_000,
        meanCalmMs: 8_000,
        durationMs: 60_000,
        seed,
        sizes: azureLikeSizes,
      }),
  ],
  [
    'diurnal',
    (seed) =>
      diurnal({
        meanRatePerSecond: 5,
        peakToTroughRatio: 3,
        periodMs: 30_000,
        durationMs: 60_000,
        seed,
        sizes: azureLikeSizes,
      }),
  ],
  [
    'agentSessions',
    (seed) =>
      agentSessions({
        sessions: 20,
        turnsPerSession: { min: 1, max: 5 },
        meanThinkMs: 2_000,
        contextGrowthTokens: 30,
        durationMs: 60_000,
        seed,
        sizes: azureLikeSizes,
      }),
  ],
];

describe('synthetic workloads replay from their seed', () => {
  it.each(generators)('%s: same seed, same requests; another seed, other requests', (_name, generate) => {
    const once = generate(42);
    expect(once.length).toBeGreaterThan(10);
    expect(generate(42)).toEqual(once);
    expect(generate(43)).not.toEqual(once);
    expectSortedWithin(once, 60_000);
  });
});

describe('poisson', () => {
  it('holds its rate within 10 % over a long window', () => {
    const requests = poisson({ ratePerSecond: 50, durationMs: 1_000_000, seed: 1, sizes: unitSizes });
    expect(requests.length / 1_000).toBeGreaterThan(45);
    expect(requests.length / 1_000).toBeLessThan(55);
    expect(requests[0]).toMatchObject({ inputTokens: 1, outputTokens: 1 });
  });
});

describe('bursty', () => {
  it('keeps the stationary mean rate but has a much higher per-second variance than poisson', () => {
    const durationMs = 5_000_000;
    // Stationary mean: (5·18 + 100·2) / 20 = 14.5 per second.
    const burstyCounts = meanAndVariance(
      perSecondCounts(
        bursty({
          baseRatePerSecond: 5,
          burstRatePerSecond: 100,
          meanBurstMs: 2_000,
          meanCalmMs: 18_000,
          durationMs,
          seed: 3,
          sizes: unitSizes,
        }),
        durationMs,
      ),
    );
    const poissonCounts = meanAndVariance(
      perSecondCounts(poisson({ ratePerSecond: 14.5, durationMs, seed: 3, sizes: unitSizes }), durationMs),
    );
    expect(burstyCounts.mean).toBeGreaterThan(14.5 * 0.9);
    expect(burstyCounts.mean).toBeLessThan(14.5 * 1.1);
    // A Poisson count's variance equals its mean.
    expect(poissonCounts.variance / poissonCounts.mean).toBeGreaterThan(0.9);
    expect(poissonCounts.variance / poissonCounts.mean).toBeLessThan(1.1);
    expect(burstyCounts.variance).toBeGreaterThan(5 * poissonCounts.variance);
  });

  it('with a zero base rate only emits during bursts', () => {
    const requests = bursty({
      baseRatePerSecond: 0,
      burstRatePerSecond: 50,
      meanBurstMs: 500,
      meanCalmMs: 20_000,
      durationMs: 600_000,
      seed: 9,
      sizes: unitSizes,
    });
    const counts = perSecondCounts(requests, 600_000);
    expect(counts.filter((count) => count === 0).length).toBeGreaterThan(counts.length * 0.8);
    expect(requests.length).toBeGreaterThan(0);
  });
});

describe('diurnal', () => {
  it('has the asked peak-to-trough ratio and mean rate', () => {
    const periodMs = 1_000_000;
    const durationMs = 10 * periodMs;
    const requests = diurnal({
      meanRatePerSecond: 20,
      peakToTroughRatio: 4,
      periodMs,
      durationMs,
      seed: 5,
      sizes: unitSizes,
    });
    expect(requests.length / (durationMs / 1000)).toBeGreaterThan(19);
    expect(requests.length / (durationMs / 1000)).toBeLessThan(21);
    // Windows of a tenth of a period centred on the trough (phase 0) and the peak (phase ½): the
    // rate averaged over such a window gives a ratio of about 3.88 for 4.
    const phaseCount = (centre: number): number =>
      requests.filter((request) => Math.abs(((request.arrivalMs / periodMs + 1 - centre) % 1) - 0.5) > 0.45).length;
    const ratio = phaseCount(0.5) / phaseCount(0);
    expect(ratio).toBeGreaterThan(3.5);
    expect(ratio).toBeLessThan(4.3);
  });

  it('is flat for a ratio of 1', () => {
    const requests = diurnal({
      meanRatePerSecond: 20,
      peakToTroughRatio: 1,
      periodMs: 100_000,
      durationMs: 200_000,
      seed: 5,
      sizes: unitSizes,
    });
    const firstHalf = requests.filter((request) => request.arrivalMs % 100_000 < 50_000).length;
    expect(firstHalf / requests.length).toBeGreaterThan(0.45);
    expect(firstHalf / requests.length).toBeLessThan(0.55);
  });
});

describe('agentSessions', () => {
  const options = {
    sessions: 500,
    turnsPerSession: { min: 2, max: 6 },
    meanThinkMs: 5_000,
    contextGrowthTokens: 50,
    durationMs: 1e9,
    seed: 11,
    sizes: azureLikeSizes,
  };

  it('gives each session its turns in order, with exponential think time and a growing context', () => {
    const requests = agentSessions(options);
    expectSortedWithin(requests, options.durationMs);
    const bySession = new Map<string | undefined, WorkloadRequest[]>();
    for (const request of requests)
      bySession.set(request.sessionId, [...(bySession.get(request.sessionId) ?? []), request]);
    expect(bySession.size).toBe(500);
    const turnCounts = [...bySession.values()].map((turns) => turns.length);
    expect(Math.min(...turnCounts)).toBe(2);
    expect(Math.max(...turnCounts)).toBe(6);
    const gaps: number[] = [];
    for (const turns of bySession.values()) {
      for (let turn = 1; turn < turns.length; turn++) {
        const previous = turns[turn - 1]!;
        const current = turns[turn]!;
        gaps.push(current.arrivalMs - previous.arrivalMs);
        expect(current.inputTokens).toBe(previous.inputTokens + previous.outputTokens + 50);
      }
    }
    const { mean, variance } = meanAndVariance(gaps);
    expect(mean).toBeGreaterThan(4_500);
    expect(mean).toBeLessThan(5_500);
    // Exponential: standard deviation equals the mean.
    expect(Math.sqrt(variance) / mean).toBeGreaterThan(0.85);
    expect(Math.sqrt(variance) / mean).toBeLessThan(1.15);
  });

  it('drops turns that would arrive after the window', () => {
    const requests = agentSessions({ ...options, meanThinkMs: 60_000, durationMs: 30_000 });
    expectSortedWithin(requests, 30_000);
    expect(requests.length).toBeLessThan(500 * 2);
    expect(requests.length).toBeGreaterThanOrEqual(500);
  });
});

describe('azureLikeSizes', () => {
  it('draws integer sizes in [1, 32k] with roughly the conversation trace medians', () => {
    const rng = createRng(7);
    const draws = Array.from({ length: 20_000 }, () => azureLikeSizes(rng));
    expect(median(draws.map((draw) => draw.inputTokens)) / AZURE_CONV_SIZES.inputMedian).toBeCloseTo(1, 1);
    expect(median(draws.map((draw) => draw.outputTokens)) / AZURE_CONV_SIZES.outputMedian).toBeCloseTo(1, 1);
    const all = draws.flatMap((draw) => [draw.inputTokens, draw.outputTokens]);
    expect(all.every((tokens) => Number.isInteger(tokens) && tokens >= 1 && tokens <= 32_768)).toBe(true);
  });
});

describe('parameter checks', () => {
  const base = { durationMs: 1_000, seed: 1, sizes: unitSizes };
  const cases: readonly (readonly [string, () => unknown, RegExp])[] = [
    [
      'a zero rate',
      () => poisson({ ...base, ratePerSecond: 0 }),
      /^ratePerSecond must be a positive finite number, got 0$/,
    ],
    ['an infinite duration', () => poisson({ ...base, ratePerSecond: 1, durationMs: Infinity }), /^durationMs must be/],
    ['a NaN seed', () => poisson({ ...base, ratePerSecond: 1, seed: NaN }), /^seed must be a finite number/],
    [
      'too many requests',
      () => poisson({ ...base, ratePerSecond: 1e6, durationMs: 1e5 }),
      /expects more than 10000000 requests/,
    ],
    [
      'a negative base rate',
      () => bursty({ ...base, baseRatePerSecond: -1, burstRatePerSecond: 1, meanBurstMs: 1, meanCalmMs: 1 }),
      /^baseRatePerSecond must be a non-negative/,
    ],
    [
      'a zero burst length',
      () => bursty({ ...base, baseRatePerSecond: 1, burstRatePerSecond: 1, meanBurstMs: 0, meanCalmMs: 1 }),
      /^meanBurstMs must be/,
    ],
    [
      'a NaN calm length',
      () => bursty({ ...base, baseRatePerSecond: 1, burstRatePerSecond: 1, meanBurstMs: 1, meanCalmMs: NaN }),
      /^meanCalmMs must be/,
    ],
    [
      'a ratio below 1',
      () => diurnal({ ...base, meanRatePerSecond: 1, peakToTroughRatio: 0.5, periodMs: 1 }),
      /^peakToTroughRatio must be a finite number >= 1/,
    ],
    [
      'a zero period',
      () => diurnal({ ...base, meanRatePerSecond: 1, peakToTroughRatio: 2, periodMs: 0 }),
      /^periodMs must be/,
    ],
    [
      'fractional sessions',
      () =>
        agentSessions({
          ...base,
          sessions: 1.5,
          turnsPerSession: { min: 1, max: 1 },
          meanThinkMs: 1,
          contextGrowthTokens: 0,
        }),
      /^sessions must be a positive integer/,
    ],
    [
      'max turns below min',
      () =>
        agentSessions({
          ...base,
          sessions: 1,
          turnsPerSession: { min: 3, max: 2 },
          meanThinkMs: 1,
          contextGrowthTokens: 0,
        }),
      /^turnsPerSession\.max \(2\) must be >= turnsPerSession\.min \(3\)$/,
    ],
    [
      'zero min turns',
      () =>
        agentSessions({
          ...base,
          sessions: 1,
          turnsPerSession: { min: 0, max: 2 },
          meanThinkMs: 1,
          contextGrowthTokens: 0,
        }),
      /^turnsPerSession\.min must be/,
    ],
    [
      'negative context growth',
      () =>
        agentSessions({
          ...base,
          sessions: 1,
          turnsPerSession: { min: 1, max: 2 },
          meanThinkMs: 1,
          contextGrowthTokens: -1,
        }),
      /^contextGrowthTokens must be/,
    ],
    [
      'sizes returning fractions',
      () => poisson({ ...base, ratePerSecond: 100, sizes: () => ({ inputTokens: 1.5, outputTokens: 1 }) }),
      /^sizes must return non-negative integer token counts/,
    ],
  ];

  it.each(cases)('rejects %s with a RangeError naming the parameter', (_name, call, message) => {
    expect(call).toThrow(RangeError);
    expect(call).toThrow(message);
  });
});
