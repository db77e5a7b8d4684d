import { describe, expect, it } from 'vitest';
import { DEFAULT_TENANT_LIMITS, type TenantLimits, TenantQuotas } from './tenant-quotas.js';

const LIMITS: TenantLimits = {
  maxSessions: 2,
  maxConcurrentRequests: 3,
  tokensPerMinute: 6_000,
  requestsPerSecond: 10,
  burstRequests: 5,
};

function quotas(tenants: Record<string, Partial<TenantLimits>> = {}) {
  let nowMs = 1_000_000;
  const q = new TenantQuotas({ defaults: LIMITS, tenants }, () => nowMs);
  return { q, advance: (ms: number) => (nowMs += ms) };
}

describe('TenantQuotas', () => {
  it('refuses a request past the concurrent-request quota with QUOTA_EXCEEDED, retryable once some finish', () => {
    const { q } = quotas();
    expect(q.judgeRequest('acme', 2, 10)).toEqual({ ok: true });
    expect(q.judgeRequest('acme', 3, 10)).toEqual({
      ok: false,
      code: 'QUOTA_EXCEEDED',
      message: 'tenant acme has 3 requests open, its quota of concurrent requests',
      retryAfterMs: 1000,
      retryable: true,
    });
  });

  it('rate-limits a burst with RATE_LIMITED and says when the bucket has room again', () => {
    const { q, advance } = quotas();
    for (let i = 0; i < 5; i++) expect(q.judgeRequest('acme', 0, 1).ok).toBe(true);
    const limited = q.judgeRequest('acme', 0, 1);
    expect(limited).toMatchObject({ ok: false, code: 'RATE_LIMITED', retryAfterMs: 100 });
    advance(100); // one request's worth at 10 per second
    expect(q.judgeRequest('acme', 0, 1).ok).toBe(true);
    expect(q.judgeRequest('acme', 0, 1).ok).toBe(false);
    // Another tenant has its own buckets.
    expect(q.judgeRequest('globex', 0, 1).ok).toBe(true);
  });

  it('limits tokens per minute, and refuses outright a request bigger than a minute of tokens', () => {
    const { q, advance } = quotas();
    expect(q.judgeRequest('acme', 0, 5_000).ok).toBe(true);
    expect(q.judgeRequest('acme', 0, 2_000)).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 10_000 });
    advance(10_000);
    expect(q.judgeRequest('acme', 0, 2_000).ok).toBe(true);
    expect(q.judgeRequest('acme', 0, 6_001)).toMatchObject({ code: 'QUOTA_EXCEEDED' });
  });

  it('applies per-tenant overrides over the defaults', () => {
    const { q } = quotas({ vip: { maxConcurrentRequests: 100 } });
    expect(q.limitsOf('vip')).toEqual({ ...LIMITS, maxConcurrentRequests: 100 });
    expect(q.judgeRequest('vip', 50, 1).ok).toBe(true);
    expect(q.judgeRequest('acme', 50, 1).ok).toBe(false);
  });

  it('counts session opens against the session quota and the request rate', () => {
    const { q } = quotas();
    expect(q.judgeSession('acme', 1).ok).toBe(true);
    expect(q.judgeSession('acme', 2)).toMatchObject({ ok: false, code: 'QUOTA_EXCEEDED' });
  });

  it('counts a batch submission as one request against the rate, whatever its size', () => {
    const { q, advance } = quotas();
    for (let i = 0; i < 5; i++) expect(q.judgeBatchSubmission('acme').ok).toBe(true);
    expect(q.judgeBatchSubmission('acme')).toMatchObject({ ok: false, code: 'RATE_LIMITED', retryAfterMs: 100 });
    // Submissions and requests share the bucket: the burst is spent for both.
    expect(q.judgeRequest('acme', 0, 1)).toMatchObject({ code: 'RATE_LIMITED' });
    advance(100);
    expect(q.judgeBatchSubmission('acme').ok).toBe(true);
  });

  it('forgets idle tenants so the bucket map stays bounded', () => {
    const { q, advance } = quotas();
    for (let i = 0; i < 100; i++) q.judgeRequest(`t${i}`, 0, 1);
    expect(q.trackedTenants).toBe(100);
    advance(11 * 60_000);
    q.judgeRequest('late', 0, 1);
    expect(q.trackedTenants).toBe(1);
  });

  it('refuses limits that are not positive numbers', () => {
    expect(() => new TenantQuotas({ defaults: { ...DEFAULT_TENANT_LIMITS, tokensPerMinute: 0 } }, Date.now)).toThrow(
      /defaults.tokensPerMinute must be a positive number/,
    );
    expect(
      () => new TenantQuotas({ defaults: DEFAULT_TENANT_LIMITS, tenants: { x: { requestsPerSecond: -1 } } }, Date.now),
    ).toThrow(/x.requestsPerSecond/);
  });
});
