import { SessionClient } from '@switchyard/protocol';
import { DEFAULT_SESSION_CONFIG } from '@switchyard/scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { h100, type NatsFixture, startNats, startTestAgents, startTestScheduler, waitFor } from './harness.js';

describe('session quotas', () => {
  let nats: NatsFixture;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    nats = await startNats();
    const scheduler = await startTestScheduler(nats.server.url, {
      sessions: { ...DEFAULT_SESSION_CONFIG, maxSessionsPerTenant: 2 },
    });
    const agents = await startTestAgents(nats.server.url, [h100('q-0')]);
    stops.push(
      () => agents.stop(500),
      () => scheduler.stop(),
    );
    await waitFor(() => scheduler.fleet.size === 1, 'registration');
  });

  afterAll(async () => {
    for (const stop of stops) await stop();
    await nats?.close();
  });

  it('refuses a session beyond the tenant quota with a typed error, changes nothing, and frees a slot on close', async () => {
    const client = new SessionClient(nats.client, { tenant: 'small' });
    const first = await client.open({ model: 'llama-3.1-8b' });
    await client.open({ model: 'llama-3.1-8b' });
    await expect(client.open({ model: 'llama-3.1-8b' })).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect((await client.list()).total).toBe(2);
    // Another tenant has its own quota.
    await expect(
      new SessionClient(nats.client, { tenant: 'other' }).open({ model: 'llama-3.1-8b' }),
    ).resolves.toMatchObject({ state: 'open' });
    await client.close(first.sessionId);
    await expect(client.open({ model: 'llama-3.1-8b' })).resolves.toMatchObject({ state: 'open' });
  });

  it('holds the quota when many opens arrive at once (opens still in flight count)', async () => {
    const client = new SessionClient(nats.client, { tenant: 'racing' });
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => client.open({ model: 'llama-3.1-8b' })));
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(2);
    const refusals = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
    expect(refusals).toEqual(Array.from({ length: 4 }, () => expect.objectContaining({ code: 'QUOTA_EXCEEDED' })));
    expect((await client.list()).total).toBe(2);
  });
});

describe('session placement hints and idle offload', () => {
  let nats: NatsFixture;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    nats = await startNats();
    const scheduler = await startTestScheduler(nats.server.url);
    const agents = await startTestAgents(
      nats.server.url,
      [h100('fra-0', 'edge-fra-1'), h100('iad-0', 'edge-iad-1', 2)],
      {
        sessionIdleOffloadMs: 300,
      },
    );
    stops.push(
      () => agents.stop(500),
      () => scheduler.stop(),
    );
    await waitFor(() => scheduler.fleet.size === 2, 'registration');
  });

  afterAll(async () => {
    for (const stop of stops) await stop();
    await nats?.close();
  });

  it('honours a cluster hint when a node there can take the session', async () => {
    const client = new SessionClient(nats.client, { tenant: 'hints' });
    for (const cluster of ['edge-fra-1', 'edge-iad-1']) {
      const session = await client.open({ model: 'llama-3.1-8b', placement: { cluster } });
      expect(session.ownerNodeId).toBe(cluster === 'edge-fra-1' ? 'fra-0' : 'iad-0');
    }
    // A hint nothing matches is a preference, not a requirement.
    expect((await client.open({ model: 'llama-3.1-8b', placement: { cluster: 'edge-nowhere-1' } })).state).toBe('open');
  });

  it('offloads an idle session and re-prefills its context on the next turn', async () => {
    const client = new SessionClient(nats.client, { tenant: 'idle' });
    const session = await client.open({ model: 'llama-3.1-8b' });
    const first = await client.turn(session.sessionId, { turnKey: 'a', inputTokens: 300, maxOutputTokens: 10 });
    const warm = await client.turn(session.sessionId, { turnKey: 'b', inputTokens: 10, maxOutputTokens: 2 });
    expect(warm.restoredContextTokens).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const cold = await client.turn(session.sessionId, { turnKey: 'c', inputTokens: 10, maxOutputTokens: 2 });
    expect(cold.restoredContextTokens).toBe(warm.contextTokens);
    expect(first.contextTokens).toBe(310);
  });
});
