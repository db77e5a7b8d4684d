import { getModel, getProfile, predictServiceMs } from '@switchyard/fleet-model';
import { describe, expect, it } from 'vitest';
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
