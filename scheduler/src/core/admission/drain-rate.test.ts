import { describe, expect, it } from 'vitest';
import { DrainRate } from './drain-rate.js';

/** Events at times (ms): a backlog size, or a departure. */
type Event = readonly [atMs: number, what: number | 'departed'];

function replay(events: readonly Event[], halfLifeMs = 1e12): DrainRate {
  const meter = new DrainRate(halfLifeMs);
  for (const [atMs, what] of events) {
    if (what === 'departed') meter.departed(atMs);
    else meter.setBacklog(atMs, what);
  }
  return meter;
}

describe('DrainRate', () => {
  it.each<{ name: string; events: Event[]; atMs: number; intervalMs: number | undefined }>([
    { name: 'no evidence yet', events: [[0, 5]], atMs: 1_000, intervalMs: undefined },
    {
      name: 'one departure every 100 ms while backlogged',
      events: [
        [0, 3],
        [100, 'departed'],
        [100, 2],
        [200, 'departed'],
        [200, 1],
        [300, 'departed'],
        [300, 0],
      ],
      atMs: 300,
      intervalMs: 100,
    },
    {
      name: 'idle time does not count',
      events: [
        [0, 1],
        [100, 'departed'],
        [100, 0],
        [5_000, 1],
        [5_100, 'departed'],
        [5_100, 0],
      ],
      atMs: 60_000,
      intervalMs: 100,
    },
    {
      name: 'a burst averages over the busy time, not per event',
      events: [
        [0, 10],
        [1_000, 'departed'],
        [1_000, 'departed'],
        [1_000, 'departed'],
        [1_000, 'departed'],
        [1_000, 6],
      ],
      atMs: 1_000,
      intervalMs: 250,
    },
    {
      name: 'a stalled backlog predicts ever longer waits',
      events: [
        [0, 1],
        [100, 'departed'],
        [100, 1],
      ],
      atMs: 1_100,
      intervalMs: 1_100,
    },
    {
      name: 'departures with no backlog time drain at once',
      events: [
        [0, 1],
        [0, 'departed'],
        [0, 0],
      ],
      atMs: 0,
      intervalMs: 0,
    },
  ])('$name → $intervalMs ms', ({ events, atMs, intervalMs }) => {
    const measured = replay(events).intervalMs(atMs);
    // The decay over huge half-lives leaves rounding error in the last digits.
    expect(measured === undefined ? undefined : Math.round(measured * 100) / 100).toBe(intervalMs);
  });

  it('forgets old evidence with its half-life', () => {
    // 1 departure per 100 ms long ago, then 1 per 1000 ms for a while: the figure follows the new rate.
    const events: Event[] = [[0, 1]];
    for (let t = 100; t <= 10_000; t += 100) events.push([t, 'departed']);
    for (let t = 11_000; t <= 100_000; t += 1_000) events.push([t, 'departed']);
    const meter = replay(events, 5_000);
    // Read just after a departure the decayed ratio sits a little under the true interval.
    expect(meter.intervalMs(100_000)).toBeGreaterThan(900);
    expect(meter.intervalMs(100_000)).toBeLessThan(1_100);
  });

  it('predicts the wait of a place in the queue and reports the rate per second', () => {
    const meter = replay([
      [0, 4],
      [50, 'departed'],
      [100, 'departed'],
    ]);
    expect(meter.predictWaitMs(3, 100)).toBeCloseTo(150, 2);
    expect(meter.perSecond(100)).toBeCloseTo(20, 2);
    expect(new DrainRate(1_000).perSecond(0)).toBe(0);
    expect(new DrainRate(1_000).predictWaitMs(3, 0)).toBeUndefined();
  });

  it('ignores time running backwards', () => {
    const meter = replay([
      [1_000, 1],
      [1_100, 'departed'],
      [900, 1],
    ]);
    expect(meter.intervalMs(1_100)).toBeCloseTo(100, 2);
  });

  it('refuses a half-life that is not positive', () => {
    expect(() => new DrainRate(0)).toThrow(RangeError);
  });
});
