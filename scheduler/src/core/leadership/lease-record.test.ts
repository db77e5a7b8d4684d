import { describe, expect, it } from 'vitest';
import { CLIENT_GO_LEASE_TIMINGS, LeaseObserver, type LeaseRecord, validateLeaseTimings } from './lease-record.js';

const held = (holder: string, renewTimeMs: number, transitions = 3): LeaseRecord => ({
  holder,
  leaseDurationSeconds: 15,
  acquireTimeMs: 1_000,
  renewTimeMs,
  transitions,
});

describe('LeaseObserver (client-go tryAcquireOrRenew)', () => {
  it('creates a fresh record holding the lease, with the duration in whole seconds', () => {
    expect(new LeaseObserver('sched-a', 15_000).initialRecord(500)).toEqual({
      holder: 'sched-a',
      leaseDurationSeconds: 15,
      acquireTimeMs: 500,
      renewTimeMs: 500,
      transitions: 0,
    });
    expect(new LeaseObserver('sched-a', 1_500).leaseDurationSeconds).toBe(2);
  });

  it('leaves a lease held by another alone until a lease duration after it last saw it change', () => {
    const observer = new LeaseObserver('sched-b', 15_000);
    expect(observer.decide(held('sched-a', 100), 10_000)).toEqual({
      kind: 'held-by-other',
      holder: 'sched-a',
      expiresInMs: 15_000,
    });
    // The same record 14.9 s later: still held. A renewal (new renewTime) restarts the wait.
    expect(observer.decide(held('sched-a', 100), 24_900).kind).toBe('held-by-other');
    expect(observer.decide(held('sched-a', 200), 24_950)).toMatchObject({ expiresInMs: 15_000 });
    // No change for a full lease: take it over, counting a transition and a new acquire time.
    expect(observer.decide(held('sched-a', 200), 39_950)).toEqual({
      kind: 'write',
      takeover: true,
      record: {
        holder: 'sched-b',
        leaseDurationSeconds: 15,
        acquireTimeMs: 39_950,
        renewTimeMs: 39_950,
        transitions: 4,
      },
    });
  });

  it('never trusts the renewTime written on another machine: a record from the future still expires', () => {
    const observer = new LeaseObserver('sched-b', 15_000);
    const skewed = held('sched-a', 9_999_999_999_999);
    expect(observer.decide(skewed, 0).kind).toBe('held-by-other');
    expect(observer.decide(skewed, 15_000).kind).toBe('write');
  });

  it('renews its own lease keeping the acquire time and the transition count', () => {
    const observer = new LeaseObserver('sched-a', 15_000);
    expect(observer.decide(held('sched-a', 100, 7), 2_000)).toEqual({
      kind: 'write',
      takeover: false,
      record: { holder: 'sched-a', leaseDurationSeconds: 15, acquireTimeMs: 1_000, renewTimeMs: 2_000, transitions: 7 },
    });
  });

  it('takes a released lease (empty holder) at once', () => {
    const observer = new LeaseObserver('sched-b', 15_000);
    expect(observer.decide(held('', 100, 2), 0)).toMatchObject({
      kind: 'write',
      takeover: true,
      record: { transitions: 3 },
    });
  });

  it('releases only a lease it holds', () => {
    const observer = new LeaseObserver('sched-a', 15_000);
    expect(observer.releaseRecord(held('sched-b', 100), 5)).toBeUndefined();
    expect(observer.releaseRecord(held('sched-a', 100, 4), 5)).toEqual({
      holder: '',
      leaseDurationSeconds: 1,
      acquireTimeMs: 5,
      renewTimeMs: 5,
      transitions: 4,
    });
  });

  it('refuses an empty identity and a lease under a second', () => {
    expect(() => new LeaseObserver('', 15_000)).toThrow(/identity/);
    expect(() => new LeaseObserver('a', 999)).toThrow(/at least 1000/);
  });
});

describe('validateLeaseTimings', () => {
  it("accepts client-go's defaults and refuses timings that allow two leaders", () => {
    expect(validateLeaseTimings(CLIENT_GO_LEASE_TIMINGS)).toEqual({
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
    expect(() =>
      validateLeaseTimings({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }),
    ).toThrow(/greater than renewDeadlineMs/);
    expect(() =>
      validateLeaseTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }),
    ).toThrow(/1.2 × retryPeriodMs/);
    expect(() => validateLeaseTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 0 })).toThrow(
      /positive/,
    );
  });
});
