import { getModel, getProfile, POWER_CAP_SPEED_EXPONENT, predictServiceMs } from '@switchyard/fleet-model';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BackendCompletion, BackendListener } from './backend.js';
import { NullBackend } from './null-backend.js';
import { SimulatedBackend } from './simulated-backend.js';

const hardware = { profile: getProfile('h100')!, chipCount: 8 };

/** Records backend events; `until(n)` resolves once n jobs have completed. */
class RecordingListener implements BackendListener {
  readonly completions: BackendCompletion[] = [];
  readonly firstTokens: string[] = [];
  private waiting: { count: number; resolve: () => void } | undefined;

  firstToken(jobId: string): void {
    this.firstTokens.push(jobId);
  }

  text(): void {
    throw new Error('the simulated engine generates no text');
  }

  failed(jobId: string, code: string): void {
    throw new Error(`the simulated engine does not fail jobs (${jobId}: ${code})`);
  }

  completed(completion: BackendCompletion): void {
    this.completions.push(completion);
    if (this.waiting !== undefined && this.completions.length >= this.waiting.count) this.waiting.resolve();
  }

  until(count: number): Promise<void> {
    if (this.completions.length >= count) return Promise.resolve();
    return new Promise((resolve) => (this.waiting = { count, resolve }));
  }
}

describe('SimulatedBackend (fleet-model engine on the wall clock)', () => {
  it('completes work in about the time the fleet model predicts, with first token first', async () => {
    const events = new RecordingListener();
    const backend = new SimulatedBackend(
      { hardware, models: getModel, preloadedModels: ['llama-3.1-8b'], seed: 1 },
      events,
    );
    const started = Date.now();
    expect(
      backend.submit({ id: 'a', model: 'llama-3.1-8b', inputTokens: 2000, maxOutputTokens: 40, priority: 'normal' }),
    ).toMatchObject({ ok: true });
    await events.until(1);
    const elapsed = Date.now() - started;
    const predicted = predictServiceMs(hardware, getModel('llama-3.1-8b')!, 2000, 40, 1).totalMs;
    expect(events.firstTokens).toEqual(['a']);
    expect(events.completions[0]).toMatchObject({ jobId: 'a', outputTokens: 40 });
    expect(events.completions[0]!.timings.totalMs).toBeGreaterThan(predicted * 0.9);
    expect(elapsed).toBeGreaterThanOrEqual(Math.floor(predicted * 0.9));
    expect(backend.activeJobs).toBe(0);
    backend.close();
  });

  it('refuses unknown models at once and reports status for heartbeats', () => {
    const events = new RecordingListener();
    const backend = new SimulatedBackend(
      { hardware, models: getModel, preloadedModels: ['llama-3.1-8b'], seed: 1 },
      events,
    );
    expect(
      backend.submit({ id: 'x', model: 'gpt-9', inputTokens: 1, maxOutputTokens: 1, priority: 'normal' }),
    ).toMatchObject({ ok: false, code: 'UNKNOWN_MODEL' });
    const status = backend.status();
    expect(status.models).toEqual([{ name: 'llama-3.1-8b', state: 'loaded' }]);
    expect(status.hbmTotalBytes).toBe(8 * hardware.profile.hbmBytesPerChip);
    expect(status.powerLimitWatts).toBe(8 * hardware.profile.peakWattsPerChip);
    backend.close();
  });

  it('drops cancelled work without a completion', async () => {
    const events = new RecordingListener();
    const backend = new SimulatedBackend(
      { hardware, models: getModel, preloadedModels: ['llama-3.1-8b'], seed: 1 },
      events,
    );
    backend.submit({ id: 'slow', model: 'llama-3.1-8b', inputTokens: 100, maxOutputTokens: 5000, priority: 'normal' });
    backend.submit({ id: 'quick', model: 'llama-3.1-8b', inputTokens: 100, maxOutputTokens: 5, priority: 'normal' });
    expect(backend.cancel('slow')).toBe(true);
    await events.until(1);
    expect(events.completions.map((c) => c.jobId)).toEqual(['quick']);
    expect(backend.activeJobs).toBe(0);
    backend.close();
  });
});

/** 32 short-prompt, 300-token jobs at t=0: after a few ms the node is a steady decode batch of 32. */
function busyNode(options: { powerLimitWatts?: number } = {}) {
  const events = new RecordingListener();
  const backend = new SimulatedBackend(
    { hardware, models: getModel, preloadedModels: ['llama-3.1-8b'], seed: 7, ...options },
    events,
  );
  for (let i = 0; i < 32; i++) {
    const job = {
      id: `j${i}`,
      model: 'llama-3.1-8b',
      inputTokens: 16,
      maxOutputTokens: 300,
      priority: 'normal' as const,
    };
    expect(backend.submit(job)).toMatchObject({ ok: true });
  }
  return { backend, events };
}
const makespanMs = (events: RecordingListener): number => Math.max(...events.completions.map((c) => c.timings.totalMs));
const firstDoneMs = (events: RecordingListener): number =>
  Math.min(...events.completions.map((c) => c.timings.totalMs));

describe('SimulatedBackend under a power limit (fake clock, so the model time is exact)', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] }));
  afterEach(() => vi.useRealTimers());

  it('clamps the limit to the hardware range and reports it at once', () => {
    const { backend } = busyNode({ powerLimitWatts: 100 });
    expect(backend.status().powerLimitWatts).toBe(1600);
    expect(backend.setPowerLimit(0)).toBe(1600);
    expect(backend.setPowerLimit(1e9)).toBe(5600);
    expect(backend.setPowerLimit(2500)).toBe(2500);
    expect(backend.status().powerLimitWatts).toBe(2500);
    backend.close();
  });

  it('capped to 60 % of its demand, draws no more than the limit and slows by (limit/demand)^0.75', async () => {
    const capAtMs = 100;
    const free = busyNode();
    await vi.advanceTimersByTimeAsync(capAtMs);
    const demandWatts = free.backend.status().powerDrawWatts;
    expect(free.backend.status()).toMatchObject({ inFlight: 32, queueDepth: 0, powerLimitWatts: 5600 });
    await vi.runAllTimersAsync();
    expect(free.events.completions).toHaveLength(32);
    const freeMs = makespanMs(free.events);

    const capped = busyNode();
    await vi.advanceTimersByTimeAsync(capAtMs);
    const before = capped.backend.status();
    expect(before.powerDrawWatts).toBe(demandWatts);
    const limitWatts = 0.6 * demandWatts;
    expect(capped.backend.setPowerLimit(limitWatts)).toBe(limitWatts); // above the 1600 W floor: not clamped
    const status = capped.backend.status();
    expect(status.powerLimitWatts).toBe(limitWatts);
    expect(status.powerDrawWatts).toBeLessThanOrEqual(limitWatts);
    expect(status.temperatureC).toBeLessThan(before.temperatureC);
    await vi.runAllTimersAsync();
    expect(capped.events.completions).toHaveLength(32);

    // Until the first job finishes the batch (so the demand) is constant, and the decode left after
    // the cap runs at 0.6^0.75 ≈ 0.682 of uncapped speed. Later the batch shrinks (jobs carry speed
    // jitter), demand falls and the cap bites less, so the whole run stretches slightly less.
    const speed = 0.6 ** POWER_CAP_SPEED_EXPONENT;
    const freeFirstMs = firstDoneMs(free.events);
    expect(firstDoneMs(capped.events) / (capAtMs + (freeFirstMs - capAtMs) / speed)).toBeCloseTo(1, 4);
    const stretch = (makespanMs(capped.events) - capAtMs) / (freeMs - capAtMs);
    expect(stretch).toBeGreaterThan(1.4);
    expect(stretch).toBeLessThanOrEqual(1 / speed);
    for (const done of capped.events.completions) {
      const same = free.events.completions.find((c) => c.jobId === done.jobId)!;
      expect(done.timings.totalMs).toBeGreaterThan(same.timings.totalMs * 1.4);
    }
    free.backend.close();
    capped.backend.close();
  });

  it('speeds back up when the limit is raised again', async () => {
    const { backend, events } = busyNode();
    await vi.advanceTimersByTimeAsync(50);
    const demandWatts = backend.status().powerDrawWatts;
    backend.setPowerLimit(0.6 * demandWatts);
    await vi.advanceTimersByTimeAsync(200);
    expect(backend.status().powerDrawWatts).toBeLessThanOrEqual(0.6 * demandWatts);
    backend.setPowerLimit(5600);
    expect(backend.status().powerDrawWatts).toBe(demandWatts);
    await vi.runAllTimersAsync();
    expect(events.completions).toHaveLength(32);
    backend.close();
  });
});

describe('NullBackend', () => {
  it('answers at once with zero timings and reports the node honestly', async () => {
    const events = new RecordingListener();
    const backend = new NullBackend(hardware, ['llama-3.1-8b'], getModel, events, 2);
    expect(
      backend.submit({ id: 'a', model: 'llama-3.1-8b', inputTokens: 1, maxOutputTokens: 3, priority: 'normal' }),
    ).toMatchObject({ ok: true });
    expect(
      backend.submit({ id: 'b', model: 'llama-3.1-8b', inputTokens: 1, maxOutputTokens: 3, priority: 'normal' }),
    ).toMatchObject({ ok: true });
    expect(
      backend.submit({ id: 'c', model: 'llama-3.1-8b', inputTokens: 1, maxOutputTokens: 3, priority: 'normal' }),
    ).toMatchObject({ ok: false, code: 'NO_CAPACITY' });
    expect(
      backend.submit({ id: 'd', model: 'llama-3.3-70b', inputTokens: 1, maxOutputTokens: 3, priority: 'normal' }),
    ).toMatchObject({ ok: false, code: 'UNKNOWN_MODEL' });
    await events.until(2);
    expect(events.completions.map((c) => [c.jobId, c.outputTokens, c.timings.totalMs])).toEqual([
      ['a', 3, 0],
      ['b', 3, 0],
    ]);
    expect(backend.status().hbmUsedBytes).toBe(getModel('llama-3.1-8b')!.weightBytes);
    backend.close();
  });
});
