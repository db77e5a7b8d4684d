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
});
