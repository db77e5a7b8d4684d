import { readLogOf } from '@switchyard/bench';
import { BatchClient, SessionClient, type SessionInfo, subjects } from '@switchyard/protocol';
import type { ManagedProcess } from '@switchyard/test-kit';
import { requireBuiltCli, spawnAgent, spawnScheduler } from './processes.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsFixture, startNats } from './harness.js';

const LEASE_MS = 1500;

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The whole system as separate processes (nats-server, two schedulers, three agents) carrying
 * sessions and a batch while faults are injected one after another: agent SIGKILL, agent drain,
 * scheduler-leader SIGKILL, nats-server restart. Afterwards every session's durable log must be
 * exactly the turns its client saw answered, in order, and every batch item must have one result.
 */
describe('fault suite: sessions and batches through every fault', () => {
  let nats: NatsFixture;
  const schedulers = new Map<string, ManagedProcess>();
  const agents = new Map<string, ManagedProcess>();

  beforeAll(async () => {
    requireBuiltCli();
    nats = await startNats();
    for (const id of ['sched-a', 'sched-b']) schedulers.set(id, spawnScheduler(nats.server.url, id, LEASE_MS));
    ['fa', 'fb', 'fc'].forEach((prefix, i) =>
      agents.set(prefix, spawnAgent(nats.server.url, prefix, { seed: i + 1, cluster: 'fault-1', chips: 4 })),
    );
  });

  afterAll(async () => {
    await Promise.all([...agents.values(), ...schedulers.values()].map((p) => p.stop(2000)));
    await nats?.close();
  });

  it('loses no turn and no batch item, and runs none twice', async () => {
    const elected = /"msg":"elected leader"/;
    const leaderId = await Promise.any(
      [...schedulers].map(async ([id, p]) => (await p.waitForLine(elected, 20_000), id)),
    );
    const sessions = new SessionClient(nats.client, {
      tenant: 'fault',
      turnDeadlineMs: 30_000,
      requestTimeoutMs: 2000,
    });
    const batches = new BatchClient(nats.client, 'fault', 10_000);
    let opened: SessionInfo[] = [];
    for (let attempt = 0; opened.length === 0 && attempt < 100; attempt++) {
      opened = await Promise.all(Array.from({ length: 12 }, () => sessions.open({ model: 'llama-3.1-8b' }))).catch(
        async () => {
          await new Promise((resolve) => setTimeout(resolve, 200));
          return [];
        },
      );
    }
    expect(opened).toHaveLength(12);
    const batch = await batches.submit({
      model: 'llama-3.1-8b',
      // Half the items run for seconds, so some are in flight on the leader when it dies.
      items: Array.from({ length: 60 }, (_, i) => ({ inputTokens: 50 + i, maxOutputTokens: i % 2 === 0 ? 8 : 1500 })),
      deadlineAfterMs: 170_000,
      idempotencyKey: 'fault-batch',
    });

    const answered = new Map<string, string[]>(opened.map((s) => [s.sessionId, []]));
    const run = { stopped: false };
    const conversations = opened.map(async (session, s) => {
      for (let k = 1; !run.stopped; k++) {
        const turnKey = `t${k}`;
        await sessions.turn(session.sessionId, { turnKey, inputTokens: 20 + ((s * 7 + k) % 50), maxOutputTokens: 6 });
        answered.get(session.sessionId)!.push(turnKey);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });

    // 1. An agent process dies.
    await settle(1000);
    agents.get('fa')!.kill('SIGKILL');
    // 2. A node of another agent is drained (its sessions move, its work finishes).
    await settle(2000);
    await nats.client
      .request(subjects.adminNode('drain'), JSON.stringify({ v: 1, nodeId: 'fb-0' }), { timeout: 5000 })
      .catch(() => undefined);
    // 3. The scheduler leader dies; the standby takes over.
    await settle(2000);
    schedulers.get(leaderId)!.kill('SIGKILL');
    const standby = [...schedulers].find(([id]) => id !== leaderId)![1];
    await standby.waitForLine(elected, LEASE_MS * 4);
    // 4. nats-server restarts (same JetStream store) under all of it.
    await settle(2000);
    await nats.server.restart();
    await settle(3000);

    run.stopped = true;
    await Promise.all(conversations);
    for (const session of opened) {
      const log = await readLogOf(nats.client, session.sessionId);
      const seen = answered.get(session.sessionId)!;
      expect(seen.length).toBeGreaterThan(3);
      expect(log.map((e) => e.turnKey)).toEqual(seen);
      expect(log.map((e) => e.turn)).toEqual(seen.map((_, i) => i + 1));
    }

    let status = await batches.status(batch.batchId);
    for (let i = 0; i < 600 && status.state !== 'done'; i++) {
      await settle(250);
      status = await batches.status(batch.batchId).catch(() => status);
    }
    expect(status).toMatchObject({ state: 'done', items: 60, done: 60, failed: 0 });
    const results = await batches.results(batch.batchId);
    expect(results.map((r) => r.index)).toEqual(Array.from({ length: 60 }, (_, i) => i));
  }, 170_000);
});
