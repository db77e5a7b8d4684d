import { SessionClient } from '@switchyard/protocol';
import { DEFAULT_SESSION_CONFIG, type SchedulerHandle } from '@switchyard/scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { h100, type NatsFixture, startNats, startTestAgents, startTestScheduler, waitFor } from './harness.js';

describe('session quotas', () => {
  let nats: NatsFixture;
  let scheduler: SchedulerHandle;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    nats = await startNats();
    scheduler = await startTestScheduler(nats.server.url, {
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

  it('counts an open once while its node adopts it: the next open within the quota is not refused', async () => {
    const client = new SessionClient(nats.client, { tenant: 'adopting' });
    const open = (): Promise<unknown> => client.open({ model: 'llama-3.1-8b' });
    let secondDuringAdoption = 0;
    for (let attempt = 0; attempt < 20 && secondDuringAdoption < 3; attempt++) {
      // The first open is in the registry (recorded) but not yet answered (its node is adopting it).
      const firstOpen = { answered: false };
      const first = client.open({ model: 'llama-3.1-8b' }).finally(() => (firstOpen.answered = true));
      while (scheduler.sessionRegistry.openCount('adopting') === 0 && !firstOpen.answered) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (!firstOpen.answered) secondDuringAdoption += 1;
      const second = open();
      const opened = await Promise.allSettled([first, second]);
      expect(opened.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled']);
      for (const { sessionId, state } of (await client.list()).sessions) {
        if (state !== 'closed') await client.close(sessionId);
      }
    }
    expect(secondDuringAdoption).toBeGreaterThan(0);
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
