import { describe, expect, it } from 'vitest';
import { judgeSaturation, type QueueOutlook, retryHintMs, type RetryHintBounds } from './saturation.js';

const BOUNDS: RetryHintBounds = { minRetryAfterMs: 50, maxRetryAfterMs: 60_000, fallbackRetryAfterMs: 1_000 };

const queue = (extra: Partial<QueueOutlook>): QueueOutlook => ({
  sloClass: 'standard',
  waiting: 0,
  maxQueued: 100,
  mustWait: true,
  ahead: 0,
  intervalMs: 100,
  remainingMs: 10_000,
  ...extra,
});

describe('judgeSaturation', () => {
  it.each<{
    name: string;
    queue: Partial<QueueOutlook>;
    ok: boolean;
    reason?: string;
    retryAfterMs?: number;
    predictedWaitMs?: number;
  }>([
    { name: 'nothing to wait for', queue: { mustWait: false, intervalMs: undefined }, ok: true, predictedWaitMs: 0 },
    { name: 'waits with no evidence of the drain rate', queue: { ahead: 500, intervalMs: undefined }, ok: true },
    { name: 'wait fits the deadline', queue: { ahead: 9, remainingMs: 1_000 }, ok: true, predictedWaitMs: 1_000 },
    {
      name: 'wait exceeds the deadline: hint is the excess',
      queue: { ahead: 19, remainingMs: 1_000 },
      ok: false,
      reason: 'predicted-wait',
      retryAfterMs: 1_000,
    },
    {
      name: 'excess below the minimum hint',
      queue: { ahead: 10, remainingMs: 1_090 },
      ok: false,
      reason: 'predicted-wait',
      retryAfterMs: 50,
    },
    {
      name: 'excess above the maximum hint',
      queue: { ahead: 100_000, remainingMs: 1_000 },
      ok: false,
      reason: 'predicted-wait',
      retryAfterMs: 60_000,
    },
    {
      name: 'queue full: hint is the time to drain one place',
      queue: { waiting: 100, mustWait: false },
      ok: false,
      reason: 'queue-full',
      retryAfterMs: 100,
    },
    {
      name: 'queue over full: more places to drain',
      queue: { waiting: 110, intervalMs: 20 },
      ok: false,
      reason: 'queue-full',
      retryAfterMs: 220,
    },
    {
      name: 'queue full with no evidence: the fallback hint',
      queue: { waiting: 100, intervalMs: undefined },
      ok: false,
      reason: 'queue-full',
      retryAfterMs: 1_000,
    },
    {
      name: 'a queue of size 0 refuses every wait',
      queue: { maxQueued: 0 },
      ok: false,
      reason: 'queue-full',
      retryAfterMs: 100,
    },
  ])('$name', ({ queue: extra, ok, reason, retryAfterMs, predictedWaitMs }) => {
    const verdict = judgeSaturation(queue(extra), BOUNDS);
    const seen = verdict.ok
      ? { ok: true, predictedWaitMs: verdict.predictedWaitMs }
      : {
          ok: false,
          reason: verdict.reason,
          retryAfterMs: verdict.retryAfterMs,
          named: /standard queue/.test(verdict.message),
        };
    expect(seen).toEqual(ok ? { ok, predictedWaitMs } : { ok, reason, retryAfterMs, named: true });
  });
});

describe('retryHintMs', () => {
  it.each<[predictedMs: number | undefined, hintMs: number]>([
    [undefined, 1_000],
    [Number.NaN, 1_000],
    [0, 50],
    [123.2, 124],
    [1e9, 60_000],
  ])('%s ms → %d ms', (predictedMs, hintMs) => {
    expect(retryHintMs(predictedMs, BOUNDS)).toBe(hintMs);
  });
});
