import type { AgentHostHandle } from '@switchyard/node-agent';
import { SessionClient } from '@switchyard/protocol';
import type { ManagedProcess } from '@switchyard/test-kit';
import { requireBuiltCli, spawnScheduler } from './processes.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { h100, infer, type NatsFixture, startNats, startTestAgents, waitFor } from './harness.js';

const LEASE_MS = 1500;

describe('two schedulers, one leader: SIGKILL the leader', () => {
  let nats: NatsFixture;
  let agents: AgentHostHandle;
  const schedulers = new Map<string, ManagedProcess>();

  beforeAll(async () => {
    requireBuiltCli();
    nats = await startNats();
    for (const id of ['sched-a', 'sched-b']) schedulers.set(id, spawnScheduler(nats.server.url, id, LEASE_MS));
    agents = await startTestAgents(nats.server.url, [h100('ha-0'), h100('ha-1', 'test-1', 2)]);
  });

  afterAll(async () => {
    await agents?.stop(500);
    await Promise.all([...schedulers.values()].map((p) => p.stop(2000)));
    await nats?.close();
  });

  it('the standby takes over within the lease, rebuilds its view and loses no session', async () => {
    const elected = /"msg":"elected leader"/;
    const leaderId = await Promise.any(
      [...schedulers.entries()].map(async ([id, p]) => {
        await p.waitForLine(elected, 20_000);
        return id;
      }),
    );
    const leader = schedulers.get(leaderId)!;
    const [standbyId, standby] = [...schedulers.entries()].find(([id]) => id !== leaderId)!;
    await waitFor(() => agents.agents.every((a) => a.registered), 'agents registered', 10_000);
    expect(await infer(nats.client, {})).toMatchObject({ ok: true });

    const client = new SessionClient(nats.client, { tenant: 'ha', turnDeadlineMs: 15_000, requestTimeoutMs: 2000 });
    const sessions = await Promise.all(Array.from({ length: 8 }, () => client.open({ model: 'llama-3.1-8b' })));
    for (const s of sessions)
      await client.turn(s.sessionId, { turnKey: 'before', inputTokens: 100, maxOutputTokens: 5 });

    leader.kill('SIGKILL');
    const killedAt = Date.now();
    await standby.waitForLine(elected, LEASE_MS * 4);
    const failoverMs = Date.now() - killedAt;
    expect(failoverMs).toBeLessThanOrEqual(LEASE_MS);

    // Turns never needed the scheduler: they go on at once.
    for (const s of sessions) {
      expect(await client.turn(s.sessionId, { turnKey: 'after', inputTokens: 10, maxOutputTokens: 5 })).toMatchObject({
        turn: 2,
      });
    }
    // The new leader knows every session (from KV) and the fleet (agents re-register on its notice).
    for (const s of sessions)
      expect(await client.get(s.sessionId)).toMatchObject({ state: 'open', ownerNodeId: s.ownerNodeId });
    let answer;
    for (let i = 0; i < 50 && answer?.ok !== true; i++) {
      answer = await infer(nats.client, {}, { timeoutMs: 2000 }).catch(() => undefined);
      if (answer?.ok !== true) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(answer).toMatchObject({ ok: true });
    expect((await client.open({ model: 'llama-3.1-8b' })).state).toBe('open');
    expect(standbyId).not.toBe(leaderId);
  });
});
