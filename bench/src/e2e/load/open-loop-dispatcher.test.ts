import { describe, expect, it } from 'vitest';
import { dispatchOpenLoop } from './open-loop-dispatcher.js';

const timelineOf = (...atMs: number[]): { atMs: number; id: number }[] => atMs.map((at, id) => ({ atMs: at, id }));

describe('dispatchOpenLoop', () => {
  it('sends on schedule even when no request ever completes (open loop)', async () => {
    const timeline = timelineOf(...Array.from({ length: 30 }, (_, i) => i * 5));
    const sent: { id: number; intendedAtMs: number; actualAtMs: number }[] = [];
    const never: Promise<void>[] = [];
    const startAtMs = performance.now();
    const report = await dispatchOpenLoop(
      timeline,
      (item, intendedAtMs) => {
        sent.push({ id: item.id, intendedAtMs, actualAtMs: performance.now() });
        // A request that never answers: a closed-loop driver would stall here.
        never.push(new Promise(() => undefined));
      },
      { startAtMs },
    );
    expect(report).toMatchObject({ dispatched: 30, aborted: false });
    expect(sent.map((s) => s.id)).toEqual(timeline.map((t) => t.id));
    for (const s of sent) {
      expect(s.intendedAtMs).toBe(startAtMs + timeline[s.id]!.atMs);
      expect(s.actualAtMs).toBeGreaterThanOrEqual(s.intendedAtMs);
    }
    expect(never).toHaveLength(30);
  });

  it('a driver that falls behind sends the overdue items at once, each with its intended time', async () => {
    // Start 100 ms in the past: the first three items are overdue when the dispatch begins.
    let clockMs = 1000;
    const sent: number[] = [];
    const report = await dispatchOpenLoop(timelineOf(0, 40, 90, 150), (_, intendedAtMs) => sent.push(intendedAtMs), {
      startAtMs: 900,
      now: () => {
        // A slow sender: every clock reading is 10 ms later.
        clockMs += 10;
        return clockMs;
      },
    });
    expect(sent).toEqual([900, 940, 990, 1050]);
    // The first item went out 110 ms late: latency measured from its intended time includes that.
    expect(report.maxLagMs).toBeGreaterThanOrEqual(110);
  });

  it('stops when aborted and says how many went out', async () => {
    const abort = new AbortController();
    let sent = 0;
    const report = await dispatchOpenLoop(
      timelineOf(0, 1, 2, 10_000, 20_000),
      () => {
        sent++;
        if (sent === 3) setTimeout(() => abort.abort(), 5);
      },
      { startAtMs: performance.now(), signal: abort.signal },
    );
    expect(report).toMatchObject({ dispatched: 3, aborted: true });
    expect(sent).toBe(3);
  });

  it('does nothing for an already aborted signal or an empty timeline', async () => {
    const abort = new AbortController();
    abort.abort();
    let sent = 0;
    const send = (): void => void sent++;
    expect(await dispatchOpenLoop(timelineOf(0), send, { startAtMs: 0, signal: abort.signal })).toMatchObject({
      dispatched: 0,
      aborted: true,
    });
    expect(await dispatchOpenLoop([], send, { startAtMs: performance.now() })).toMatchObject({
      dispatched: 0,
      aborted: false,
    });
    expect(sent).toBe(0);
  });

  it('refuses an unsorted timeline and rejects when the sender throws', async () => {
    expect(() => dispatchOpenLoop(timelineOf(5, 1), () => undefined, { startAtMs: 0 })).toThrow(/not sorted at item 1/);
    await expect(
      dispatchOpenLoop(
        timelineOf(0, 1),
        () => {
          throw new Error('sender bug');
        },
        { startAtMs: performance.now() },
      ),
    ).rejects.toThrow('sender bug');
  });
});
