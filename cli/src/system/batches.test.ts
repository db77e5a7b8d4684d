import { BatchClient } from '@switchyard/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestScheduler, waitFor } from './harness.js';
import { startVictimFleet, type VictimFleet } from './processes.js';

describe('durable batches', () => {
  let fleet: VictimFleet;

  beforeAll(async () => {
    fleet = await startVictimFleet({ cluster: 'batch-1', profile: 'l4', chips: 1 }, ['bv', 'bs']);
  });

  afterAll(async () => {
    await fleet?.stop();
  });

  it('gives every accepted item exactly one result through an agent SIGKILL and a scheduler restart', async () => {
    const client = new BatchClient(fleet.nats.client, 'batcher');
    const items = Array.from({ length: 40 }, (_, i) => ({ inputTokens: 100 + i, maxOutputTokens: 5 + (i % 7) }));
    const accepted = await client.submit({
      model: 'llama-3.1-8b',
      items,
      deadlineAfterMs: 120_000,
      idempotencyKey: 'nightly-1',
    });
    expect(accepted).toMatchObject({ items: 40 });
    // Resubmitting with the same key is the same batch: nothing is queued twice.
    expect(
      await client.submit({ model: 'llama-3.1-8b', items, deadlineAfterMs: 120_000, idempotencyKey: 'nightly-1' }),
    ).toMatchObject({
      batchId: accepted.batchId,
    });

    await waitFor(() => fleet.scheduler.counters.get('batches.items.completed') >= 5, 'some items done', 20_000);
    fleet.victim.kill('SIGKILL');
    // The scheduler dies too (graceful stop here; its unacknowledged items go back to the queue).
    await fleet.scheduler.stop();
    fleet.scheduler = await startTestScheduler(fleet.nats.server.url);

    let status = await client.status(accepted.batchId);
    for (let i = 0; i < 300 && status.state !== 'done'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      status = await client.status(accepted.batchId);
    }
    expect(status).toMatchObject({ state: 'done', items: 40, done: 40, failed: 0 });
    const results = await client.results(accepted.batchId);
    expect(results.map((r) => r.index)).toEqual(items.map((_, i) => i));
    expect(results.every((r) => r.ok && r.outputTokens === items[r.index]!.maxOutputTokens)).toBe(true);
    expect(new Set(results.map((r) => r.nodeId?.slice(0, 2)))).toContain('bs');
  });

  it('answers unknown batches, other tenants and bad submissions with typed errors', async () => {
    const mine = await new BatchClient(fleet.nats.client, 'owner').submit({
      model: 'llama-3.1-8b',
      items: [{ inputTokens: 1, maxOutputTokens: 1 }],
    });
    await expect(new BatchClient(fleet.nats.client, 'other').status(mine.batchId)).rejects.toMatchObject({
      code: 'BATCH_NOT_FOUND',
    });
    await expect(new BatchClient(fleet.nats.client, 'owner').status('b-000000000000')).rejects.toMatchObject({
      code: 'BATCH_NOT_FOUND',
    });
    await expect(
      new BatchClient(fleet.nats.client, 'owner').submit({
        model: 'nope',
        items: [{ inputTokens: 1, maxOutputTokens: 1 }],
      }),
    ).rejects.toMatchObject({
      code: 'UNKNOWN_MODEL',
    });
    await expect(
      new BatchClient(fleet.nats.client, 'owner').submit({ model: 'llama-3.1-8b', items: [] }),
    ).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });
});
