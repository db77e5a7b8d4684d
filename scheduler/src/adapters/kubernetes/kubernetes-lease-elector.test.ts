import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { type FakeKubeApi, startFakeKubeApi } from '@switchyard/test-kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LeadershipListener } from '../../core/leadership/leadership.js';
import type { LeaseTimings } from '../../core/leadership/lease-record.js';
import type { Logger } from '../../service/ports.js';
import { KubernetesLeaseElector } from './kubernetes-lease-elector.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
/** Short enough for tests, in client-go's proportions (15 / 10 / 2). */
const TIMINGS: LeaseTimings = { leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 100 };
const LEASE = { namespace: 'switchyard', name: 'switchyard-scheduler', timings: TIMINGS };

interface Candidate {
  readonly identity: string;
  readonly elector: KubernetesLeaseElector;
  readonly events: string[];
  /** While true, every API call of this candidate fails as if its network were cut. */
  partitioned: boolean;
}

let fake: FakeKubeApi;
const started: KubernetesLeaseElector[] = [];
const timeline: string[] = [];

beforeEach(async () => {
  fake = await startFakeKubeApi();
  timeline.length = 0;
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((elector) => elector.stop()));
  await fake.close();
});

function coordinationApi(link: { partitioned: boolean }): CoordinationV1Api {
  const kc = new KubeConfig();
  kc.loadFromOptions(fake.kubeConfigOptions());
  const api = kc.makeApiClient(CoordinationV1Api);
  // A partition: calls fail before reaching the server, as a dropped connection would.
  return new Proxy(api, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (link.partitioned) return Promise.reject(new Error('connect ECONNREFUSED (partitioned)'));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

async function candidate(identity: string, startMs = 0, startFails = false): Promise<Candidate> {
  const events: string[] = [];
  const state = { partitioned: false };
  const listener: LeadershipListener = {
    elected: async (term) => {
      events.push(`elected ${term}`);
      timeline.push(`${identity} elected ${term}`);
      // Starting to serve (loading sessions, subscribing) takes this long.
      if (startMs > 0) await new Promise((resolve) => setTimeout(resolve, startMs));
      if (startFails) throw new Error('the session store is unreachable from here');
    },
    deposed: (reason) => {
      events.push(`deposed: ${reason}`);
      timeline.push(`${identity} deposed`);
      return Promise.resolve();
    },
  };
  const elector = await KubernetesLeaseElector.start(
    coordinationApi(state),
    { ...LEASE, identity },
    listener,
    silent,
    Date.now,
    () => 0.5,
  );
  started.push(elector);
  return Object.assign(state, { identity, elector, events });
}

async function until(condition: () => boolean, timeoutMs: number): Promise<number> {
  const startedMs = Date.now();
  while (!condition()) {
    if (Date.now() - startedMs > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - startedMs;
}

interface LeaseSpecSeen {
  holderIdentity?: string;
  leaseTransitions?: number;
  leaseDurationSeconds?: number;
  renewTime?: string;
}
const leaseSpec = (): LeaseSpecSeen =>
  (JSON.parse(JSON.stringify(fake.getLease('switchyard', 'switchyard-scheduler') ?? {})) as { spec?: LeaseSpecSeen })
    .spec ?? {};

describe('KubernetesLeaseElector against a Kubernetes API server', () => {
  it('elects the first candidate by creating the Lease; the second stands by', async () => {
    const a = await candidate('sched-a');
    const b = await candidate('sched-b');
    expect(a.elector.isLeader).toBe(true);
    expect(a.events).toEqual(['elected 1']);
    expect(b.elector.isLeader).toBe(false);
    expect(leaseSpec()).toMatchObject({ holderIdentity: 'sched-a', leaseTransitions: 0, leaseDurationSeconds: 2 });
    // MicroTime, as the API server requires: six fractional digits.
    expect(leaseSpec().renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    // The leader renews every retry period.
    const firstRenewal = leaseSpec().renewTime;
    await until(() => leaseSpec().renewTime !== firstRenewal, 1_000);
    expect(b.elector.isLeader).toBe(false);
  });

  it('keeps renewing while serving starts: a start longer than the renew deadline keeps the lease', async () => {
    const startedAtMs = Date.now();
    const a = await candidate('sched-a', TIMINGS.renewDeadlineMs * 2);
    // start() returned once serving had started, and the lease was renewed all along.
    expect(Date.now() - startedAtMs).toBeGreaterThanOrEqual(TIMINGS.renewDeadlineMs * 2);
    const renewedMs = Date.parse(leaseSpec().renewTime ?? '');
    expect(Date.now() - renewedMs).toBeLessThan(TIMINGS.renewDeadlineMs);
    const b = await candidate('sched-b');
    await new Promise((resolve) => setTimeout(resolve, TIMINGS.leaseDurationMs));
    expect(a.elector.isLeader).toBe(true);
    expect(a.events).toEqual(['elected 1']);
    expect(b.elector.isLeader).toBe(false);
  });

  it('a candidate that cannot start serving gives the Lease back, so a standby leads instead', async () => {
    const a = await candidate('sched-a', 0, true);
    const b = await candidate('sched-b');
    await until(() => b.elector.isLeader, TIMINGS.leaseDurationMs);
    expect(a.elector.isLeader).toBe(false);
    expect(a.events).toEqual([
      'elected 1',
      'deposed: could not start serving: the session store is unreachable from here',
    ]);
    expect(leaseSpec()).toMatchObject({ holderIdentity: 'sched-b' });
    // It stays aside while the standby leads.
    await new Promise((resolve) => setTimeout(resolve, TIMINGS.leaseDurationMs));
    expect(b.elector.isLeader).toBe(true);
    expect(a.events).toHaveLength(2);
  });

  it('hands over within a retry period when the leader stops and releases the Lease', async () => {
    const a = await candidate('sched-a');
    const b = await candidate('sched-b');
    await a.elector.stop();
    expect(a.events).toEqual(['elected 1', 'deposed: stopping']);
    const waitedMs = await until(() => b.elector.isLeader, 1_000);
    expect(waitedMs).toBeLessThan(500); // not a lease duration
    expect(b.events).toEqual(['elected 2']);
    expect(leaseSpec()).toMatchObject({ holderIdentity: 'sched-b', leaseTransitions: 1 });
  });

  it('a partitioned leader stops serving at its renew deadline, before the standby takes over', async () => {
    const a = await candidate('sched-a');
    const b = await candidate('sched-b');
    a.partitioned = true;
    const startedMs = Date.now();
    await until(() => b.elector.isLeader, 4_000);
    const takeoverMs = Date.now() - startedMs;
    expect(a.elector.isLeader).toBe(false);
    expect(a.events[1]).toMatch(/^deposed: could not renew the lease for \d+ ms/);
    // Never two leaders: a stepped down (renew deadline, 1 s) before b took over (lease duration, 1.5 s).
    expect(timeline).toEqual(['sched-a elected 1', 'sched-a deposed', 'sched-b elected 2']);
    expect(takeoverMs).toBeGreaterThanOrEqual(TIMINGS.leaseDurationMs - TIMINGS.retryPeriodMs * 2);
    // The partition heals: a sees b's renewals and stays a standby.
    a.partitioned = false;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(a.elector.isLeader).toBe(false);
    expect(b.elector.isLeader).toBe(true);
  });

  it('rides out API errors shorter than the renew deadline', async () => {
    const a = await candidate('sched-a');
    await candidate('sched-b');
    fake.failNext(4, 503, '/apis/coordination.k8s.io');
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(a.elector.isLeader).toBe(true);
    expect(a.events).toEqual(['elected 1']);
    expect(fake.requests.filter((r) => r.status === 503).length).toBe(4);
  });

  it('keeps one leader among racing candidates: 409 Conflict decides', async () => {
    const candidates = await Promise.all(['sched-a', 'sched-b', 'sched-c'].map((id) => candidate(id)));
    const leaders = (): number => candidates.filter((c) => c.elector.isLeader).length;
    let most = 0;
    for (let i = 0; i < 40; i++) {
      most = Math.max(most, leaders());
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(most).toBe(1);
    expect(leaders()).toBe(1);
    const leader = candidates.find((c) => c.elector.isLeader)!;
    expect(leader.events).toEqual(['elected 1']);
    expect(leaseSpec().holderIdentity).toBe(leader.identity);
    // The three started at once: those that lost the create were refused by the server (409), not by luck.
    const created = fake.requests.filter((r) => r.method === 'POST' && r.status === 201).length;
    const refusedCreates = fake.requests.filter((r) => r.method === 'POST' && r.status === 409).length;
    expect(created).toBe(1);
    expect(created + refusedCreates).toBe(fake.requests.filter((r) => r.method === 'POST').length);
  });
});
