import { SessionClient, type SessionInfo } from '@switchyard/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './harness.js';
import { startVictimFleet, type VictimFleet } from './processes.js';
import { readLogOf } from '@switchyard/bench';

describe('sessions when their owner process is SIGKILLed', () => {
  let fleet: VictimFleet;

  beforeAll(async () => {
    fleet = await startVictimFleet({ cluster: 'sess-1' });
  });

  afterAll(async () => {
    await fleet?.stop();
  });

  it('moves every session of the dead node, loses no turn and runs none twice', async () => {
    const client = new SessionClient(fleet.nats.client, {
      tenant: 'fault',
      turnDeadlineMs: 15_000,
      requestTimeoutMs: 2000,
    });
    const sessions: SessionInfo[] = [];
    for (let i = 0; i < 24; i++)
      sessions.push(await client.open({ model: 'llama-3.1-8b', expectedContextTokens: 2000 }));
    const onVictim = sessions.filter((s) => s.ownerNodeId?.startsWith('victim'));
    expect(onVictim.length).toBeGreaterThan(0);

    // Every session converses turn after turn; the victim dies in the middle of it.
    const turnsDone = new Map<string, number>();
    const run = { stopped: false };
    const conversations = sessions.map(async (session) => {
      let k = 0;
      while (!run.stopped) {
        k++;
        const result = await client.turn(session.sessionId, {
          turnKey: `t${k}`,
          inputTokens: 50 + k,
          maxOutputTokens: 8,
        });
        expect(result.turn).toBe(k);
        turnsDone.set(session.sessionId, k);
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 800));
    fleet.victim.kill('SIGKILL');
    const killedAtMs = Date.now();
    await waitFor(() => fleet.scheduler.fleet.get('victim-0')?.liveness === 'dead', 'victim declared dead', 5000);
    const detectedAtMs = Date.now();
    await waitFor(
      () =>
        onVictim.every(
          (s) => fleet.scheduler.sessionRegistry.get(s.sessionId)?.record.ownerNodeId?.startsWith('survivor') === true,
        ),
      'sessions moved',
      10_000,
    );
    const servingAgainMs = Date.now() - detectedAtMs;
    // Let every session go on for two more turns, so each moved one is served by its new owner.
    const movedAt = new Map(sessions.map((sess) => [sess.sessionId, turnsDone.get(sess.sessionId) ?? 0]));
    await waitFor(
      () => sessions.every((sess) => (turnsDone.get(sess.sessionId) ?? 0) >= (movedAt.get(sess.sessionId) ?? 0) + 2),
      'two more turns per session',
      15_000,
    );
    run.stopped = true;
    await Promise.all(conversations);

    expect(servingAgainMs).toBeLessThan(5000);
    expect(killedAtMs).toBeLessThan(detectedAtMs);
    for (const session of sessions) {
      const log = await readLogOf(fleet.nats.client, session.sessionId);
      const done = turnsDone.get(session.sessionId) ?? 0;
      // Complete and in order: exactly the turns the client saw answered, each once.
      expect(log.map((e) => e.turnKey)).toEqual(Array.from({ length: done }, (_, i) => `t${i + 1}`));
      expect(log.map((e) => e.turn)).toEqual(Array.from({ length: done }, (_, i) => i + 1));
    }
    const moved = onVictim.map((s) => readLogOf(fleet.nats.client, s.sessionId));
    for (const log of await Promise.all(moved)) expect(log.some((e) => e.nodeId.startsWith('survivor'))).toBe(true);
  });
});
