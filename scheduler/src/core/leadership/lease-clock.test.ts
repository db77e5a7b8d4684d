import { describe, expect, it } from 'vitest';
import { LeaseClock } from './lease-clock.js';

describe('LeaseClock', () => {
  it.each([
    ['no record at all', undefined, 0, 0, true],
    ['a record that just changed', 7, 1000, 1000, false],
    ['a record unchanged for less than three quarters of the lease', 7, 1000, 4749, false],
    ['a record unchanged for three quarters of the lease', 7, 1000, 4750, true],
  ])('a standby may claim after %s: %s', (_name, revision, seenAtMs, nowMs, claimable) => {
    const clock = new LeaseClock(5000);
    clock.observe(revision, seenAtMs);
    expect(clock.claimable(nowMs)).toBe(claimable);
  });

  it('restarts the wait whenever the revision changes', () => {
    const clock = new LeaseClock(5000);
    clock.observe(1, 0);
    clock.observe(2, 4000);
    expect(clock.claimable(7000)).toBe(false);
    expect(clock.claimable(7750)).toBe(true);
  });

  it('makes a leader step down no later than a standby may claim', () => {
    const leader = new LeaseClock(5000);
    const standby = new LeaseClock(5000);
    leader.renewed(1000, 3);
    standby.observe(3, 1100); // the standby can only see the renewal after it happened
    const overlaps: number[] = [];
    for (let t = 1000; t < 10_000; t += 50) if (standby.claimable(t) && !leader.expiredForLeader(t)) overlaps.push(t);
    expect(overlaps).toEqual([]);
    // ... and a dead leader is replaced within one lease of its last renewal (plus one poll).
    expect(standby.claimable(1100 + 3750)).toBe(true);
  });
});
