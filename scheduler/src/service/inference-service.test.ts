import { kvBytes } from '@switchyard/fleet-model';
import { Assignment, type ErrorCode } from '@switchyard/protocol';
import { describe, expect, it } from 'vitest';
import { model, type NodeSpec, registration } from '../core/test-fixtures.js';
import {
  ACME_K1,
  NODES,
  noResponders,
  refuse,
  request,
  result,
  type Scripted,
  settle,
  setup,
  timeout,
} from './admission/test-fixtures.js';

describe('InferenceService: placing and answering', () => {
  it("places a request and assigns it with the client's reply subject, then confirms on ack", async () => {
    const { service, fleet, outbox, counters, now } = setup();
    service.submit('acme', request({ idempotencyKey: 'k1', deadlineAfterMs: 30_000, prompt: 'hi' }), '_INBOX.c1');
    expect(outbox.assigned).toHaveLength(1);
    const { nodeId, assignment, timeoutMs } = outbox.assigned[0]!;
    expect(nodeId).toBe('a');
    expect(timeoutMs).toBe(2_000);
    expect(Assignment.parse(assignment)).toEqual({
      v: 1,
      requestId: ACME_K1,
      attempt: 1,
      tenant: 'acme',
      model: 'llama-3.1-8b',
      inputTokens: 500,
      maxOutputTokens: 100,
      priority: 'normal',
      sloClass: 'interactive',
      deadlineAfterMs: 30_000,
      replyTo: '_INBOX.c1',
      prompt: 'hi',
    });
    const reservation = fleet.reservation(ACME_K1);
    expect(reservation).toMatchObject({
      nodeId: 'a',
      kvBytes: kvBytes(model('llama-3.1-8b'), 600),
      confirmedAtMs: undefined,
    });
    expect(reservation!.predictedServiceMs).toBeGreaterThan(0);
    await settle();
    expect(fleet.reservation(ACME_K1)?.confirmedAtMs).toBe(now());
    expect(outbox.published).toEqual([]);
    expect(service.openRequests).toBe(1);
    expect(counters.snapshot()).toMatchObject({ 'requests.received': 1, 'requests.accepted': 1, 'placements.ok': 1 });
  });

  it('gives requests without an idempotency key distinct ids of its own', () => {
    const { service, outbox } = setup();
    service.submit('acme', request(), 'r1');
    service.submit('acme', request(), 'r2');
    const [first, second] = outbox.assigned.map((a) => a.assignment.requestId);
    expect(first).toMatch(/^sched-t-/);
    expect(second).not.toBe(first);
  });

  it.each<{ name: string; nodes?: NodeSpec[]; model: string }>([
    { name: 'a model not in the catalogue', model: 'gpt-9' },
    { name: 'a model no node can run', nodes: [NODES[2]!], model: 'llama-3.1-405b' },
  ])('answers $name at once with UNKNOWN_MODEL', ({ nodes, model: modelName }) => {
    const { service, fleet, outbox } = setup(nodes === undefined ? {} : { nodes });
    service.submit('acme', request({ model: modelName, idempotencyKey: 'k1' }), '_INBOX.c1');
    expect(outbox.assigned).toEqual([]);
    const [reply, ...more] = outbox.errorsTo('_INBOX.c1');
    expect(more).toEqual([]);
    expect(reply?.error).toMatchObject({ code: 'UNKNOWN_MODEL', requestId: ACME_K1, retryable: false });
    expect(reply?.error.retryAfterMs).toBeUndefined();
    expect(service.openRequests).toBe(0);
    expect(fleet.openReservations).toBe(0);
  });

  it.each<{ name: string; nodes: NodeSpec[]; message: RegExp }>([
    { name: 'a fleet with no room', nodes: [{ ...NODES[0]!, state: 'draining' }], message: /schedulable/ },
    { name: 'an empty fleet', nodes: [], message: /no nodes are registered/ },
  ])('lets a request wait in $name, then answers NO_CAPACITY after its maxWaitMs', ({ nodes, message }) => {
    const { service, fleet, outbox, counters, advance } = setup({ nodes });
    service.submit('acme', request({ idempotencyKey: 'k1' }), '_INBOX.c1');
    expect(outbox.published).toEqual([]);
    expect(service.openRequests).toBe(1);
    expect(service.queueDepth('interactive')).toBe(1);
    advance(999);
    service.expireOverdue();
    expect(outbox.published).toEqual([]);
    advance(1);
    service.expireOverdue();
    const [reply, ...more] = outbox.errorsTo('_INBOX.c1');
    expect(more).toEqual([]);
    expect(reply?.error).toMatchObject({
      code: 'NO_CAPACITY',
      requestId: ACME_K1,
      retryable: true,
      retryAfterMs: 1_000,
    });
    expect(reply?.error.message).toMatch(message);
    expect(service.openRequests).toBe(0);
    expect(service.queueDepth('interactive')).toBe(0);
    expect(fleet.openReservations).toBe(0);
    expect(counters.snapshot()).toMatchObject({
      'admission.queued.interactive': 1,
      'admission.rejected.NO_CAPACITY': 1,
    });
  });

  it('closes a request on its work result and releases the reservation', async () => {
    const { service, fleet, counters } = setup();
    service.submit('acme', request({ idempotencyKey: 'ok' }), 'r1');
    service.submit('acme', request({ idempotencyKey: 'bad' }), 'r2');
    await settle();
    service.workResult('a', result('acme:ok', 'a'));
    service.workResult('a', result('acme:bad', 'a', { ok: false, code: 'DEADLINE_EXCEEDED' }));
    expect(fleet.openReservations).toBe(0);
    expect(fleet.get('a')!.reservedKvBytes).toBe(0);
    expect(service.openRequests).toBe(0);
    expect(counters.snapshot()).toMatchObject({ 'requests.completed': 1, 'requests.failed.DEADLINE_EXCEEDED': 1 });
    service.workResult('a', result('acme:ok', 'a'));
    expect(counters.get('results.late')).toBe(1);
  });

  it('drops a result whose body names another node than its subject', async () => {
    const { service, fleet, counters } = setup();
    service.submit('acme', request({ idempotencyKey: 'k1' }), 'r1');
    await settle();
    service.workResult('b', result(ACME_K1, 'a'));
    service.workResult('a', result(ACME_K1, 'b'));
    expect(counters.get('dropped.identity-mismatch')).toBe(2);
    expect(fleet.reservation(ACME_K1)?.nodeId).toBe('a');
    expect(service.openRequests).toBe(1);
  });

  it('handles a result that arrives before the ack', async () => {
    const { service, fleet, outbox } = setup();
    outbox.script.set('a', ['hold']);
    service.submit('acme', request({ idempotencyKey: 'k1' }), 'r1');
    service.workResult('a', result(ACME_K1, 'a'));
    outbox.held[0]!({ v: 1, ok: true, requestId: ACME_K1, queueDepth: 0 });
    await settle();
    expect(fleet.openReservations).toBe(0);
    expect(service.openRequests).toBe(0);
  });
});

describe('InferenceService: idempotency keys', () => {
  it('joins a retry: a second assignment to the same node with the new reply subject, no second reservation', async () => {
    const { service, fleet, outbox, counters } = setup();
    service.submit('acme', request({ idempotencyKey: 'k1' }), 'r1');
    await settle();
    service.submit('acme', request({ idempotencyKey: 'k1' }), 'r2');
    service.submit('acme', request({ idempotencyKey: 'k1' }), 'r2');
    await settle();
    expect(
      outbox.assigned.map((a) => [a.nodeId, a.assignment.requestId, a.assignment.attempt, a.assignment.replyTo]),
    ).toEqual([
      ['a', ACME_K1, 1, 'r1'],
      ['a', ACME_K1, 1, 'r2'],
    ]);
    expect(fleet.openReservations).toBe(1);
    expect(fleet.get('a')!.reservations.size).toBe(1);
    expect(counters.snapshot()).toMatchObject({ 'requests.duplicate': 2, 'requests.received': 1, 'placements.ok': 1 });
  });

  it('answers every joined client when the request fails', () => {
    const { service, fleet, outbox } = setup({ maxAttempts: 1 });
    service.submit('acme', request({ idempotencyKey: 'k1' }), 'r1');
    service.submit('acme', request({ idempotencyKey: 'k1' }), 'r2');
    service.nodeLost('a', fleet.deregister('a', 'inc-1') ?? []);
    expect(outbox.errorsTo('r1').map((e) => e.error.code)).toEqual(['NODE_LOST']);
    expect(outbox.errorsTo('r2').map((e) => e.error.code)).toEqual(['NODE_LOST']);
  });

  it('does not move a request its node acknowledged when a joined assignment fails', async () => {
    const { service, fleet, outbox } = setup();
    outbox.script.set('a', ['ack', timeout]);
    service.submit('acme', request({ idempotencyKey: 'k1' }), 'r1');
    await settle();
    service.submit('acme', request({ idempotencyKey: 'k1' }), 'r2');
    await settle();
    // Node a is running the work (it acked); a hiccup on the join must not start it again elsewhere.
    expect(outbox.assigned.filter((a) => a.nodeId !== 'a')).toEqual([]);
    expect(fleet.reservation(ACME_K1)?.nodeId).toBe('a');
  });

  it("does not join another tenant's request that uses the same key", () => {
    const { service, outbox } = setup();
    service.submit('acme', request({ idempotencyKey: 'shared-key', prompt: 'acme secret' }), 'r-acme');
    service.submit('globex', request({ idempotencyKey: 'shared-key', model: 'mistral-7b' }), 'r-globex');
    const leaked = outbox.assigned.filter((a) => a.assignment.replyTo === 'r-globex' && a.assignment.tenant === 'acme');
    expect(leaked).toEqual([]);
    expect(new Set(outbox.assigned.map((a) => a.assignment.requestId)).size).toBe(2);
    const answered =
      outbox.published.some((p) => p.subject === 'r-globex') ||
      outbox.assigned.some((a) => a.assignment.replyTo === 'r-globex');
    expect(answered).toBe(true);
  });
});

describe('InferenceService: refusals, lost nodes and deadlines', () => {
  it.each<{ name: string; reply: Scripted; suspect: boolean }>([
    { name: 'an agent refusal', reply: refuse('NODE_DRAINING'), suspect: false },
    { name: 'an agent without room', reply: refuse('NO_CAPACITY'), suspect: false },
    { name: 'no responders', reply: noResponders, suspect: true },
    { name: 'a timeout', reply: timeout, suspect: false },
  ])('re-places after $name on another node with attempt 2, excluding the first', async ({ reply, suspect }) => {
    const { service, fleet, ledger, outbox, counters } = setup();
    outbox.script.set('a', [reply]);
    service.submit('acme', request({ idempotencyKey: 'k1' }), 'r1');
    await settle();
    expect(outbox.assigned.map((a) => [a.nodeId, a.assignment.attempt, a.assignment.replyTo])).toEqual([
      ['a', 1, 'r1'],
      ['b', 2, 'r1'],
    ]);
    expect(fleet.reservation(ACME_K1)).toMatchObject({ nodeId: 'b' });
    expect(fleet.get('a')!.reservations.size).toBe(0);
    expect([...ledger.get(ACME_K1)!.excludedNodeIds]).toEqual(['a']);
    expect(fleet.get('a')!.liveness).toBe(suspect ? 'suspect' : 'alive');
    expect(counters.get('assignments.refused')).toBe(1);
    expect(outbox.published).toEqual([]);
  });

  it.each<{ name: string; nodes?: NodeSpec[]; replies: Scripted[]; code: ErrorCode; assigned: string[] }>([
    {
      name: 'every node refuses',
      replies: [refuse('NODE_DRAINING')],
      code: 'NODE_DRAINING',
      assigned: ['a', 'b', 'c'],
    },
    { name: 'every node times out', replies: [timeout], code: 'NODE_LOST', assigned: ['a', 'b', 'c'] },
  ])('answers an error when $name', async ({ nodes, replies, code, assigned }) => {
    const { service, fleet, outbox } = setup(nodes === undefined ? {} : { nodes });
    for (const nodeId of ['a', 'b', 'c']) outbox.script.set(nodeId, [...replies]);
    service.submit('acme', request({ idempotencyKey: 'k1' }), 'r1');
    await settle();
    expect(outbox.assigned.map((a) => a.nodeId)).toEqual(assigned);
    expect(outbox.assigned.map((a) => a.assignment.attempt)).toEqual(assigned.map((_, i) => i + 1));
    expect(outbox.errorsTo('r1').map((e) => e.error.code)).toEqual([code]);
    expect(service.openRequests).toBe(0);
    expect(fleet.openReservations).toBe(0);
  });

  it('lets a request that ran out of nodes wait for a new one, and places it there when it registers', async () => {
    const { service, fleet, outbox, advance, now } = setup({ nodes: NODES.slice(0, 2) });
    for (const nodeId of ['a', 'b']) outbox.script.set(nodeId, [timeout]);
    service.submit('acme', request({ idempotencyKey: 'k1' }), 'r1');
    await settle();
    expect(outbox.assigned.map((a) => a.nodeId)).toEqual(['a', 'b']);
    expect(outbox.published).toEqual([]);
    expect(service.admissionStats().interactive).toMatchObject({ waitingForCapacity: 1, placed: 0 });
    advance(100);
    fleet.register(registration(NODES[2]), now());
    service.capacityMayHaveFreed();
    await settle();
    expect(outbox.assigned.map((a) => [a.nodeId, a.assignment.attempt])).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    expect(fleet.reservation(ACME_K1)?.nodeId).toBe('c');
    expect(service.admissionStats().interactive).toMatchObject({ waitingForCapacity: 0, placed: 1 });
  });

  it('answers NO_CAPACITY when a request that ran out of nodes finds none within its maxWaitMs', async () => {
    const { service, fleet, outbox, advance } = setup({ nodes: NODES.slice(0, 2) });
    for (const nodeId of ['a', 'b']) outbox.script.set(nodeId, [timeout]);
    service.submit('acme', request({ idempotencyKey: 'k1' }), 'r1');
    await settle();
    advance(1_000);
    service.expireOverdue();
    expect(outbox.errorsTo('r1').map((e) => e.error.code)).toEqual(['NO_CAPACITY']);
    expect(service.openRequests).toBe(0);
    expect(fleet.openReservations).toBe(0);
  });

  it('re-places work from a lost node and counts its late result', async () => {
    const { service, fleet, outbox, counters } = setup();
    service.submit('acme', request({ idempotencyKey: 'k1' }), 'r1');
    await settle();
    service.nodeLost('a', fleet.deregister('a', 'inc-1') ?? []);
    expect(outbox.assigned.map((a) => [a.nodeId, a.assignment.attempt])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    expect(counters.get('requests.replaced')).toBe(1);
    service.workResult('a', result(ACME_K1, 'a'));
    expect(counters.get('results.late')).toBe(1);
    expect(fleet.reservation(ACME_K1)?.nodeId).toBe('b');
    expect(service.openRequests).toBe(1);
    service.workResult('b', result(ACME_K1, 'b', { attempt: 2 }));
    expect(counters.get('requests.completed')).toBe(1);
    expect(fleet.openReservations).toBe(0);
  });

  it('ignores an ack or refusal that arrives after the request moved on', async () => {
    const { service, fleet, outbox } = setup();
    outbox.script.set('a', ['hold']);
    service.submit('acme', request({ idempotencyKey: 'k1' }), 'r1');
    service.nodeLost('a', fleet.deregister('a', 'inc-1') ?? []);
    await settle();
    outbox.held[0]!(refuse('NODE_DRAINING'));
    await settle();
    expect(outbox.assigned.map((a) => a.nodeId)).toEqual(['a', 'b']);
    expect(fleet.reservation(ACME_K1)).toMatchObject({ nodeId: 'b' });
    expect(fleet.reservation(ACME_K1)?.confirmedAtMs).toBeDefined();
  });

  it.each<{ name: string; maxAttempts: number; lateMs: number; code: ErrorCode }>([
    { name: 'attempts are used up', maxAttempts: 1, lateMs: 0, code: 'NODE_LOST' },
    { name: 'the deadline has passed', maxAttempts: 3, lateMs: 31_000, code: 'DEADLINE_EXCEEDED' },
  ])('fails work from a lost node when $name', async ({ maxAttempts, lateMs, code }) => {
    const { service, fleet, outbox, advance } = setup({ maxAttempts });
    service.submit('acme', request({ idempotencyKey: 'k1', deadlineAfterMs: 30_000 }), 'r1');
    await settle();
    advance(lateMs);
    service.nodeLost('a', fleet.deregister('a', 'inc-1') ?? []);
    expect(outbox.assigned).toHaveLength(1);
    expect(outbox.errorsTo('r1').map((e) => e.error.code)).toEqual([code]);
    expect(service.openRequests).toBe(0);
  });

  it('answers DEADLINE_EXCEEDED once a deadline and its grace have passed', async () => {
    const { service, fleet, outbox, advance } = setup();
    service.submit('acme', request({ idempotencyKey: 'k1', deadlineAfterMs: 1_000 }), 'r1');
    await settle();
    advance(1_499);
    service.expireOverdue();
    expect(outbox.published).toEqual([]);
    advance(1);
    service.expireOverdue();
    service.expireOverdue();
    expect(outbox.errorsTo('r1').map((e) => e.error.code)).toEqual(['DEADLINE_EXCEEDED']);
    expect(fleet.openReservations).toBe(0);
    expect(service.openRequests).toBe(0);
  });

  it('answers every open request on shutdown', () => {
    const { service, fleet, outbox } = setup();
    service.submit('acme', request({ idempotencyKey: 'k1' }), 'r1');
    service.submit('acme', request({ idempotencyKey: 'k2' }), 'r2');
    service.failAll('INTERNAL', 'scheduler stopping');
    expect([...outbox.errorsTo('r1'), ...outbox.errorsTo('r2')].map((e) => e.error.code)).toEqual([
      'INTERNAL',
      'INTERNAL',
    ]);
    expect(fleet.openReservations).toBe(0);
    expect(service.openRequests).toBe(0);
  });
});
