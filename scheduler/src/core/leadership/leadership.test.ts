import { describe, expect, it } from 'vitest';
import { type LeadershipListener, LeadershipTerms } from './leadership.js';

const silent = { info() {}, warn() {}, error() {} };
const doNothing = (): void => undefined;

/** A listener whose `elected` waits until released (or fails), recording every call in order. */
function slowListener(options: { fails?: boolean } = {}) {
  const calls: string[] = [];
  let release = doNothing;
  const released = new Promise<void>((resolve) => (release = resolve));
  let active = 0;
  let overlapped = false;
  const listener: LeadershipListener = {
    async elected(term) {
      active += 1;
      overlapped ||= active > 1;
      calls.push(`elected ${term}`);
      await released;
      active -= 1;
      if (options.fails === true) throw new Error('store unreachable');
      calls.push(`serving ${term}`);
    },
    async deposed(reason) {
      active += 1;
      overlapped ||= active > 1;
      calls.push(`deposed: ${reason}`);
      await Promise.resolve();
      active -= 1;
    },
  };
  return { listener, calls, release, overlapped: () => overlapped };
}

describe('LeadershipTerms', () => {
  it('leads from the moment it is elected, while serving is still starting', async () => {
    const { listener, calls, release } = slowListener();
    const terms = new LeadershipTerms(listener, silent);
    const begun = terms.begin(3);
    expect(terms.isLeader).toBe(true);
    expect(terms.currentTerm).toBe(3);
    let started = false;
    const waiting = terms.started().then(() => (started = true));
    await Promise.resolve();
    expect(started).toBe(false);
    release();
    await expect(begun).resolves.toBe(true);
    await waiting;
    expect(calls).toEqual(['elected 3', 'serving 3']);
  });

  it('deposed during the start: the start finishes first, then deposed, once; never both at once', async () => {
    const slow = slowListener();
    const terms = new LeadershipTerms(slow.listener, silent);
    void terms.begin(1);
    const ending = terms.end('renew deadline');
    expect(terms.isLeader).toBe(false);
    await Promise.resolve();
    expect(slow.calls).toEqual(['elected 1']);
    slow.release();
    await ending;
    await terms.end('again');
    expect(slow.calls).toEqual(['elected 1', 'serving 1', 'deposed: renew deadline']);
    expect(slow.overlapped()).toBe(false);
  });

  it('a start that fails stops serving once, whether or not the election deposed it meanwhile', async () => {
    for (const endDuringStart of [false, true]) {
      const slow = slowListener({ fails: true });
      const terms = new LeadershipTerms(slow.listener, silent);
      const begun = terms.begin(2);
      const ending = endDuringStart ? terms.end('lost the lease') : Promise.resolve();
      slow.release();
      await expect(begun).resolves.toBe(false);
      await ending;
      expect(terms.isLeader).toBe(false);
      expect(slow.calls).toEqual(['elected 2', 'deposed: could not start serving: store unreachable']);
    }
  });

  it('a new term after a failed start waits until the failed one has stopped serving', async () => {
    const calls: string[] = [];
    let active = 0;
    let overlapped = false;
    const track = async (call: string, work: () => Promise<void>): Promise<void> => {
      active += 1;
      overlapped ||= active > 1;
      calls.push(call);
      try {
        await work();
      } finally {
        active -= 1;
        calls.push(`${call} done`);
      }
    };
    const listener: LeadershipListener = {
      elected: (term) =>
        track(`elected ${term}`, () => (term === 1 ? Promise.reject(new Error('no store')) : Promise.resolve())),
      // Stopping takes a while (draining work in flight).
      deposed: () => track('deposed', () => new Promise((resolve) => setTimeout(resolve, 30))),
    };
    const terms = new LeadershipTerms(listener, silent);
    const first = terms.begin(1);
    // The start fails; the election sees no leader and wins the next term while deposed still runs.
    while (terms.isLeader) await new Promise((resolve) => setImmediate(resolve));
    expect(calls.at(-1)).toBe('deposed');
    const second = terms.begin(2);
    await expect(first).resolves.toBe(false);
    await expect(second).resolves.toBe(true);
    expect(calls).toEqual(['elected 1', 'elected 1 done', 'deposed', 'deposed done', 'elected 2', 'elected 2 done']);
    expect(overlapped).toBe(false);
    expect(terms.isLeader).toBe(true);
  });

  it('started() settles at once when no term is starting', async () => {
    const terms = new LeadershipTerms(slowListener().listener, silent);
    await expect(terms.started()).resolves.toBeUndefined();
  });
});
