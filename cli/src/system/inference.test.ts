import {
  connectionInbox,
  decode,
  encode,
  InferReply,
  type InferResult,
  StatusResponse,
  subjects,
} from '@switchyard/protocol';
import type { NatsConnection } from '@nats-io/transport-node';
import type { SchedulerHandle } from '@switchyard/scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { h100, infer, l4, type NatsFixture, type Stack, startStack, waitFor } from './harness.js';

describe('stateless inference over a real nats-server', () => {
  let stack: Stack;
  let nats: NatsFixture;
  let scheduler: SchedulerHandle;
  const command = async (verb: 'cordon' | 'uncordon'): Promise<void> => {
    await nats.client.request(subjects.adminNode(verb), encode({ v: 1, nodeId: 'big-0' }), { timeout: 2000 });
  };
  /** A client of tenant `tests` with its own identity (the default tenant of `infer`). */
  let tests: NatsConnection;

  beforeAll(async () => {
    stack = await startStack([h100('big-0'), l4('small-0')]);
    ({ nats, scheduler } = stack);
    tests = await nats.connectAs({ role: 'client', user: 'tests-app', tenant: 'tests' });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('places a request on a node that answers the client directly with its timings', async () => {
    const answer = await infer(tests, { model: 'llama-3.1-8b', inputTokens: 512, maxOutputTokens: 32 });
    expect(answer.ok).toBe(true);
    const result = answer as InferResult;
    expect(['big-0', 'small-0']).toContain(result.nodeId);
    expect(result).toMatchObject({ model: 'llama-3.1-8b', inputTokens: 512, outputTokens: 32, cluster: 'test-1' });
    expect(result.timings.ttftMs).toBeGreaterThan(0);
    expect(result.timings.totalMs).toBeGreaterThanOrEqual(result.timings.ttftMs);
    await waitFor(
      () => scheduler.openRequests() === 0 && scheduler.fleet.openReservations === 0,
      'capacity to be released',
    );
  });

  it('sends a model only some nodes can run to one of those', async () => {
    const answer = await infer(tests, { model: 'llama-3.3-70b', maxOutputTokens: 8 });
    expect(answer).toMatchObject({ ok: true, nodeId: 'big-0' });
  });

  it('answers UNKNOWN_MODEL at once for a model nobody has heard of', async () => {
    const answer = await infer(tests, { model: 'no-such-model' });
    expect(answer).toMatchObject({ ok: false, error: { code: 'UNKNOWN_MODEL', retryable: false } });
  });

  it('answers NO_CAPACITY with a retry hint when the only able node is cordoned, and places again after uncordon', async () => {
    await command('cordon');
    try {
      const refused = await infer(tests, { model: 'llama-3.3-70b' });
      expect(refused).toMatchObject({ ok: false, error: { code: 'NO_CAPACITY', retryable: true } });
      expect(!refused.ok && refused.error.retryAfterMs).toBeGreaterThan(0);
      expect(!refused.ok && refused.error.message).toMatch(/schedulable/);
    } finally {
      await command('uncordon');
    }
    expect(await infer(tests, { model: 'llama-3.3-70b', maxOutputTokens: 4 })).toMatchObject({
      ok: true,
      nodeId: 'big-0',
    });
  });

  it('answers a client retry with the same idempotency key from the same run of the work', async () => {
    const placementsBefore = scheduler.counters.get('placements.ok');
    const key = `retry-${Date.now()}`;
    const [first, second] = await Promise.all([
      infer(tests, { idempotencyKey: key, maxOutputTokens: 200 }),
      new Promise((resolve) => setTimeout(resolve, 20)).then(() =>
        infer(tests, { idempotencyKey: key, maxOutputTokens: 200 }),
      ),
    ]);
    expect(first).toMatchObject({ ok: true, requestId: `tests:${key}` });
    expect(second).toEqual(first);
    expect(scheduler.counters.get('placements.ok') - placementsBefore).toBe(1);
    expect(scheduler.counters.get('requests.duplicate')).toBeGreaterThanOrEqual(1);
  });

  it('scopes idempotency keys by tenant: another tenant with the same key gets its own answer', async () => {
    const key = `shared-${Date.now()}`;
    const [mine, theirs] = await Promise.all([
      infer(nats.client, { idempotencyKey: key, maxOutputTokens: 100 }, { tenant: 'tenant-a' }),
      infer(nats.client, { idempotencyKey: key, maxOutputTokens: 7 }, { tenant: 'tenant-b' }),
    ]);
    expect(mine).toMatchObject({ ok: true, requestId: `tenant-a:${key}`, outputTokens: 100 });
    expect(theirs).toMatchObject({ ok: true, requestId: `tenant-b:${key}`, outputTokens: 7 });
  });

  it('refuses at admission a request no node could finish within its deadline, with DEADLINE_UNREACHABLE', async () => {
    const answer = await infer(tests, { model: 'llama-3.3-70b', maxOutputTokens: 20_000, deadlineAfterMs: 150 });
    expect(answer).toMatchObject({ ok: false, error: { code: 'DEADLINE_UNREACHABLE', retryable: false } });
    await waitFor(() => scheduler.openRequests() === 0, 'the expired request to be closed');
  });

  it('reports the fleet in status with clusters and nodes', async () => {
    const reply = await nats.client.request(subjects.adminStatus, encode({ v: 1 }), { timeout: 2000 });
    const decoded = decode(StatusResponse, reply.data);
    expect(decoded.ok && decoded.value.ok).toBe(true);
    if (!decoded.ok || !decoded.value.ok) return;
    expect(decoded.value.totalNodes).toBe(2);
    expect(decoded.value.clusters).toEqual([expect.objectContaining({ cluster: 'test-1', nodes: 2, readyNodes: 2 })]);
    expect(decoded.value.nodes.map((n) => [n.nodeId, n.profile, n.state])).toEqual([
      ['big-0', 'h100', 'ready'],
      ['small-0', 'l4', 'ready'],
    ]);
  });

  it('keeps answering every request under a burst (each gets exactly one answer)', async () => {
    const inbox = connectionInbox(nats.client);
    const answers = new Map<string, number>();
    const sub = nats.client.subscribe(`${inbox}.>`);
    const collected = (async () => {
      for await (const msg of sub) {
        const decoded = decode(InferReply, msg.data);
        if (decoded.ok) answers.set(msg.subject, (answers.get(msg.subject) ?? 0) + 1);
      }
    })();
    const n = 200;
    for (let i = 0; i < n; i++) {
      nats.client.publish(
        subjects.infer('tests'),
        encode({ v: 1, model: 'llama-3.1-8b', inputTokens: 100 + i, maxOutputTokens: 8 }),
        {
          reply: `${inbox}.${i}`,
        },
      );
    }
    await waitFor(() => answers.size === n, `${n} answers`, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect([...answers.values()].every((count) => count === 1)).toBe(true);
    sub.unsubscribe();
    await collected;
  });
});
