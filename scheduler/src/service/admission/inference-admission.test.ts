import type { InferRequest } from '@switchyard/protocol';
import { describe, expect, it } from 'vitest';
import { heartbeat, type NodeSpec, registration } from '../../core/test-fixtures.js';
import { complete, NODES, placedIds, request, type SetupOptions, settle, setup } from './test-fixtures.js';

/** A standard-class request of `tenant` with idempotency key `key` (its id is `<tenant>:<key>`). */
const standard = (key: string, extra: Partial<InferRequest> = {}): InferRequest =>
  request({ sloClass: 'standard', idempotencyKey: key, inputTokens: 100, maxOutputTokens: 10, ...extra });

/** One slot for standard work, so that everything after the first request queues. */
const ONE_STANDARD_SLOT: SetupOptions = { config: { admission: { classes: { standard: { concurrency: 1 } } } } };

/** Holds the one standard slot with a request of tenant `x`, queues `perTenant` of each, then drains `slots`. */
async function drain(weights: Record<string, number>, tenants: string[], perTenant: number, slots: number) {
  const { service, outbox } = setup({
    config: { admission: { tenantWeights: weights, classes: { standard: { concurrency: 1 } } } },
  });
  service.submit('x', standard('blocker'), 'blocker');
  for (let i = 0; i < perTenant; i++) for (const tenant of tenants) service.submit(tenant, standard(`k${i}`), `r${i}`);
  await settle();
  for (let i = 0; i < slots; i++) await complete(service, outbox, placedIds(outbox).at(-1)!);
  const served: Record<string, number> = {};
  for (const id of placedIds(outbox).slice(1, slots + 1)) {
    const tenant = id.split(':')[0]!;
    served[tenant] = (served[tenant] ?? 0) + 1;
  }
  return served;
}

/** The nodes of NODES in one cluster whose budget leaves the cluster in the `defer` power stage. */
function deferringSetup() {
  const harness = setup({
    topology: { clusters: [{ name: 'cluster-a', location: 'fra', powerBudgetWatts: 1e9 }], regions: [] },
  });
  const cluster = harness.fleet.topology.cluster('cluster-a');
  // Committed draw at 97 % of the usable budget: past deferAt (95 %), below capAt (100 %).
  harness.fleet.topology.setBudget('cluster-a', cluster.committedWatts / (0.97 * 0.95));
  expect(cluster.stage).toBe('defer');
  return harness;
}

describe('admission: per-class concurrency', () => {
  it('places up to the class limit, queues the rest, and places the next when one finishes', async () => {
    const { service, outbox, counters } = setup({
      config: { admission: { classes: { standard: { concurrency: 2 } } } },
    });
    for (const key of ['k1', 'k2', 'k3', 'k4']) service.submit('acme', standard(key), `r-${key}`);
    expect(placedIds(outbox)).toEqual(['acme:k1', 'acme:k2']);
    expect(service.admissionStats().standard).toMatchObject({ queued: 2, placed: 2, concurrency: 2 });
    expect(service.queueDepth('standard')).toBe(2);
    await settle();
    await complete(service, outbox, 'acme:k1');
    expect(placedIds(outbox)).toEqual(['acme:k1', 'acme:k2', 'acme:k3']);
    expect(service.admissionStats().standard).toMatchObject({ queued: 1, placed: 2 });
    expect(outbox.published).toEqual([]);
    expect(counters.snapshot()).toMatchObject({ 'admission.queued.standard': 2, 'admission.waited.standard': 1 });
  });

  it('never queues interactive work behind batch work', async () => {
    const { service, outbox } = setup({ config: { admission: { classes: { batch: { concurrency: 1 } } } } });
    for (const key of ['b1', 'b2', 'b3']) service.submit('acme', standard(key, { sloClass: 'batch' }), key);
    expect(service.admissionStats().batch).toMatchObject({ queued: 2, placed: 1 });
    service.submit('acme', request({ idempotencyKey: 'i1' }), 'i1');
    expect(placedIds(outbox)).toEqual(['acme:b1', 'acme:i1']);
    await settle();
    expect(service.admissionStats().interactive).toMatchObject({ queued: 0, placed: 1 });
  });

  it('keeps the slot of a request re-placed after its node was lost', async () => {
    const { service, fleet, outbox } = setup(ONE_STANDARD_SLOT);
    service.submit('acme', standard('k1'), 'r1');
    service.submit('acme', standard('k2'), 'r2');
    await settle();
    service.nodeLost('a', fleet.deregister('a', 'inc-1') ?? []);
    await settle();
    expect(outbox.assigned.map((a) => [a.nodeId, a.assignment.requestId, a.assignment.attempt])).toEqual([
      ['a', 'acme:k1', 1],
      ['b', 'acme:k1', 2],
    ]);
    expect(service.admissionStats().standard).toMatchObject({ queued: 1, placed: 1 });
  });

  it('gives up the slot when a re-placement finds no room, and places in fair order once a node joins', async () => {
    const { service, fleet, outbox, now } = setup({ ...ONE_STANDARD_SLOT, nodes: [NODES[0]!] });
    service.submit('acme', standard('k1'), 'r1');
    service.submit('acme', standard('k2'), 'r2');
    await settle();
    service.nodeLost('a', fleet.deregister('a', 'inc-1') ?? []);
    await settle();
    expect(service.admissionStats().standard).toMatchObject({ queued: 0, waitingForCapacity: 2, placed: 0 });
    fleet.register(registration(NODES[1]), now());
    service.capacityMayHaveFreed();
    await settle();
    expect(outbox.assigned.map((a) => [a.nodeId, a.assignment.requestId, a.assignment.attempt])).toEqual([
      ['a', 'acme:k1', 1],
      ['b', 'acme:k1', 2],
    ]);
    expect(service.admissionStats().standard).toMatchObject({ queued: 1, waitingForCapacity: 0, placed: 1 });
    expect(outbox.published).toEqual([]);
  });

  it('joins a client retry to a request still waiting in the queue', async () => {
    const { service, outbox, counters } = setup(ONE_STANDARD_SLOT);
    service.submit('acme', standard('k1'), 'r1');
    service.submit('acme', standard('k2'), 'r2');
    service.submit('acme', standard('k2'), 'r3');
    expect(counters.get('requests.duplicate')).toBe(1);
    await settle();
    await complete(service, outbox, 'acme:k1');
    expect(
      outbox.assigned.filter((a) => a.assignment.requestId === 'acme:k2').map((a) => a.assignment.replyTo),
    ).toEqual(['r2', 'r3']);
  });
});

describe('admission: weighted fair share between tenants', () => {
  it('gives two backlogged tenants weighted 3:1 three slots in four', async () => {
    expect(await drain({ gold: 3 }, ['gold', 'free'], 10, 8)).toEqual({ gold: 6, free: 2 });
  });

  it('does not let a tenant that floods first starve one that comes later', async () => {
    const { service, outbox } = setup(ONE_STANDARD_SLOT);
    service.submit('x', standard('blocker'), 'blocker');
    for (let i = 0; i < 20; i++) service.submit('flood', standard(`k${i}`), `f${i}`);
    service.submit('quiet', standard('q'), 'q');
    await settle();
    for (let i = 0; i < 3; i++) await complete(service, outbox, placedIds(outbox).at(-1)!);
    expect(placedIds(outbox).slice(0, 4)).toContain('quiet:q');
  });
});

describe('admission: saturation and deadlines', () => {
  it('refuses OVERLOADED when the class queue is full, with the fallback hint before any drain is measured', async () => {
    const { service, outbox, counters } = setup({
      config: { admission: { classes: { standard: { concurrency: 1, maxQueued: 2 } } } },
    });
    for (const key of ['k1', 'k2', 'k3', 'k4']) service.submit('acme', standard(key), key);
    const [reply, ...more] = outbox.errorsTo('k4');
    expect(more).toEqual([]);
    expect(reply?.error).toMatchObject({
      code: 'OVERLOADED',
      retryable: true,
      retryAfterMs: 1_000,
      requestId: 'acme:k4',
    });
    expect(reply?.error.message).toMatch(/standard queue is full \(2 waiting, limit 2\)/);
    expect(service.openRequests).toBe(3);
    expect(counters.get('admission.rejected.OVERLOADED')).toBe(1);
    // A refused request was never accepted: the same key is judged afresh once there is room.
    await settle();
    await complete(service, outbox, 'acme:k1');
    service.submit('acme', standard('k4'), 'k4-again');
    expect(outbox.errorsTo('k4-again')).toEqual([]);
    expect(service.queueDepth('standard')).toBe(2);
  });

  it('refuses OVERLOADED early when the measured drain rate would not reach a request before its deadline', async () => {
    const { service, outbox, advance } = setup({
      config: { admission: { drainHalfLifeMs: 7 * 24 * 3_600_000, classes: { standard: { concurrency: 1 } } } },
    });
    service.submit('acme', standard('k1'), 'k1');
    service.submit('acme', standard('k2'), 'k2');
    await settle();
    advance(10_000);
    await complete(service, outbox, 'acme:k1'); // k2 placed after 10 s of backlog: one placement per 10 s
    expect(service.admissionStats().standard.drainPerSecond).toBeCloseTo(0.1, 4);
    service.submit('acme', standard('k3'), 'k3');
    service.submit('acme', standard('k4'), 'k4');
    // Two ahead, then itself: about 30 s, more than its 25 s.
    service.submit('acme', standard('k5', { deadlineAfterMs: 25_000 }), 'k5');
    service.submit('acme', standard('k6', { deadlineAfterMs: 35_000 }), 'k6');
    const [reply] = outbox.errorsTo('k5');
    expect(reply?.error).toMatchObject({ code: 'OVERLOADED', retryAfterMs: 5_000 });
    expect(reply?.error.message).toMatch(/about 30000 ms to reach this request \(2 ahead, one placed every 10000 ms\)/);
    expect(outbox.errorsTo('k6')).toEqual([]);
    expect(service.queueDepth('standard')).toBe(3);
  });

  it('answers DEADLINE_EXCEEDED to a queued request when its deadline passes, and never places it', async () => {
    const { service, outbox, advance, counters } = setup(ONE_STANDARD_SLOT);
    service.submit('acme', standard('k1'), 'k1');
    service.submit('acme', standard('k2', { deadlineAfterMs: 5_000 }), 'k2');
    await settle();
    advance(4_000);
    service.expireOverdue();
    expect(outbox.errorsTo('k2')).toEqual([]);
    advance(1_000);
    service.expireOverdue();
    expect(outbox.errorsTo('k2').map((e) => e.error.code)).toEqual(['DEADLINE_EXCEEDED']);
    expect(outbox.errorsTo('k2')[0]?.error.message).toMatch(
      /deadline passed after waiting 5000 ms in the standard queue/,
    );
    expect(counters.get('admission.rejected.DEADLINE_EXCEEDED')).toBe(1);
    await complete(service, outbox, 'acme:k1');
    expect(placedIds(outbox)).toEqual(['acme:k1']);
    expect(service.openRequests).toBe(0);
  });

  it('answers DEADLINE_EXCEEDED as soon as the time left is less than the fastest node needs', async () => {
    const { service, outbox, advance } = setup(ONE_STANDARD_SLOT);
    service.submit('acme', standard('k1'), 'k1');
    service.submit('acme', standard('k2', { deadlineAfterMs: 8_000, maxOutputTokens: 500 }), 'k2');
    await settle();
    advance(7_000);
    service.expireOverdue();
    expect(outbox.errorsTo('k2').map((e) => e.error.code)).toEqual(['DEADLINE_EXCEEDED']);
    expect(outbox.errorsTo('k2')[0]?.error.message).toMatch(/1000 ms left .*the fastest node needs \d+ ms/);
  });

  it('answers OVERLOADED to a request that waited its maxWaitMs for a slot', async () => {
    const { service, outbox, advance } = setup({
      config: { admission: { classes: { standard: { concurrency: 1, maxWaitMs: 2_000 } } } },
    });
    service.submit('acme', standard('k1'), 'k1');
    service.submit('acme', standard('k2'), 'k2');
    advance(2_000);
    service.expireOverdue();
    expect(outbox.errorsTo('k2')[0]?.error).toMatchObject({ code: 'OVERLOADED', retryable: true });
    expect(outbox.errorsTo('k1')).toEqual([]);
  });
});

describe('admission: waiting for room', () => {
  it('defers batch work while its cluster saves power, without holding up interactive work, and places it after', async () => {
    const { service, fleet, outbox } = deferringSetup();
    service.submit('acme', standard('b1', { sloClass: 'batch' }), 'b1');
    expect(outbox.assigned).toEqual([]);
    expect(service.admissionStats().batch).toMatchObject({ waitingForCapacity: 1, placed: 0 });
    service.submit('acme', request({ idempotencyKey: 'i1', inputTokens: 100, maxOutputTokens: 10 }), 'i1');
    expect(placedIds(outbox)).toEqual(['acme:i1']);
    fleet.topology.setBudget('cluster-a', 1e9);
    service.capacityMayHaveFreed();
    await settle();
    expect(placedIds(outbox)).toEqual(['acme:i1', 'acme:b1']);
    expect(outbox.published).toEqual([]);
  });

  it('hands deferred batch work back with NO_CAPACITY and a retry hint after its maxWaitMs (its queue naks it)', () => {
    const { service, outbox, advance } = deferringSetup();
    service.submit('acme', standard('b1', { sloClass: 'batch' }), 'b1');
    advance(5_000);
    service.expireOverdue();
    const [reply] = outbox.errorsTo('b1');
    expect(reply?.error).toMatchObject({ code: 'NO_CAPACITY', retryable: true, retryAfterMs: 1_000 });
    expect(reply?.error.message).toMatch(/power-budget/);
  });

  it('serves interactive work waiting for room before batch work for the same model', async () => {
    const small: NodeSpec = { nodeId: 's', profile: 'l4', loaded: ['llama-3.1-8b'], hbmUsedBytes: 90e9 };
    const { service, fleet, outbox, now } = setup({ nodes: [small] });
    // 100k tokens of KV (13 GB) do not fit in the 6 GB left; 110 tokens would.
    service.submit('acme', request({ idempotencyKey: 'big', inputTokens: 100_000 }), 'big');
    service.submit('acme', standard('b1', { sloClass: 'batch' }), 'b1');
    expect(outbox.assigned).toEqual([]);
    expect(service.admissionStats().batch).toMatchObject({ waitingForCapacity: 1 });
    fleet.applyHeartbeat(heartbeat({ ...small, seq: 1, hbmUsedBytes: 16e9 }), now());
    service.capacityMayHaveFreed();
    await settle();
    expect(placedIds(outbox)).toEqual(['acme:big', 'acme:b1']);
  });

  it('paces retry passes: a signal soon after a pass waits for the next tick', async () => {
    const { service, fleet, outbox, advance, now } = setup({ nodes: [] });
    service.submit('acme', request({ idempotencyKey: 'k1' }), 'r1');
    service.capacityMayHaveFreed(); // a pass: still nothing
    advance(5);
    fleet.register(registration(NODES[0]), now());
    service.capacityMayHaveFreed();
    expect(outbox.assigned).toEqual([]);
    advance(15);
    service.expireOverdue();
    await settle();
    expect(placedIds(outbox)).toEqual(['acme:k1']);
  });

  it('retries waiting work on every tick, catching room that appeared without a signal', async () => {
    const { service, fleet, outbox, advance, now } = setup({ nodes: [] });
    service.submit('acme', request({ idempotencyKey: 'k1' }), 'r1');
    fleet.register(registration(NODES[0]), now());
    advance(200);
    service.expireOverdue();
    await settle();
    expect(placedIds(outbox)).toEqual(['acme:k1']);
  });

  it('lets the next request for a model try for itself once nothing of that model waits any more', () => {
    const { service, fleet, outbox, advance } = setup();
    for (const node of NODES) fleet.setOperatorState(node.nodeId!, 'cordoned');
    service.submit('acme', request({ idempotencyKey: 'k1' }), 'r1');
    advance(1_000);
    service.expireOverdue();
    expect(outbox.errorsTo('r1').map((e) => e.error.code)).toEqual(['NO_CAPACITY']);
    // Uncordoned with no signal to the service: the first request after must not wait on a stale verdict.
    for (const node of NODES) fleet.setOperatorState(node.nodeId!, 'active');
    service.submit('acme', request({ idempotencyKey: 'k2' }), 'r2');
    expect(placedIds(outbox)).toEqual(['acme:k2']);
  });

  it('answers every open request on shutdown, whether placed, queued or waiting for room', async () => {
    const { service, fleet, outbox } = setup(ONE_STANDARD_SLOT);
    service.submit('acme', standard('k1'), 'k1');
    service.submit('acme', standard('k2'), 'k2');
    for (const node of NODES) fleet.setOperatorState(node.nodeId!, 'cordoned');
    service.submit('acme', request({ idempotencyKey: 'i1' }), 'i1');
    expect(service.admissionStats().interactive.waitingForCapacity).toBe(1);
    service.failAll('INTERNAL', 'scheduler stopping');
    for (const replyTo of ['k1', 'k2', 'i1'])
      expect(outbox.errorsTo(replyTo).map((e) => e.error.code)).toEqual(['INTERNAL']);
    expect(service.openRequests).toBe(0);
    expect(fleet.openReservations).toBe(0);
    expect(service.admissionStats().standard).toMatchObject({ queued: 0, placed: 0 });
    expect(service.admissionStats().interactive).toMatchObject({ waitingForCapacity: 0 });
    for (const node of NODES) fleet.setOperatorState(node.nodeId!, 'active');
    service.capacityMayHaveFreed();
    await settle();
    expect(placedIds(outbox)).toEqual(['acme:k1']);
  });
});
