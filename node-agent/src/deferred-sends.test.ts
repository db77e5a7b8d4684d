import { describe, expect, it, vi } from 'vitest';
import { DeferredSends } from './deferred-sends.js';

describe('DeferredSends', () => {
  it('sends nothing at once, then everything in order after the delay', () => {
    vi.useFakeTimers();
    try {
      const sent: string[] = [];
      const sends = new DeferredSends(1);
      sends.defer(() => sent.push('ack'));
      sends.defer(() => sent.push('result'));
      expect(sent).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(sent).toEqual(['ack', 'result']);
      sends.defer(() => sent.push('later'));
      vi.advanceTimersByTime(1);
      expect(sent).toEqual(['ack', 'result', 'later']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('flushes on demand and leaves no timer behind', () => {
    vi.useFakeTimers();
    try {
      const sent: string[] = [];
      const sends = new DeferredSends(50);
      sends.defer(() => sent.push('result'));
      sends.flush();
      expect(sent).toEqual(['result']);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
