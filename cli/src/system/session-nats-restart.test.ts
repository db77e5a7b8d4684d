import { SessionClient } from '@switchyard/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { h100, type Stack, startStack, waitFor } from './harness.js';
import { readLogOf } from '@switchyard/bench';

describe('sessions across a nats-server restart (same JetStream store)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack([h100('nr-0'), h100('nr-1', 'test-1', 2)]);
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('keeps every acknowledged turn and ownership record, and carries on after reconnecting', async () => {
    const client = new SessionClient(stack.nats.client, {
      tenant: 'restart',
      turnDeadlineMs: 20_000,
      requestTimeoutMs: 2000,
    });
    const sessions = await Promise.all(Array.from({ length: 6 }, () => client.open({ model: 'llama-3.1-8b' })));
    for (const s of sessions) {
      for (const key of ['a', 'b'])
        await client.turn(s.sessionId, { turnKey: key, inputTokens: 40, maxOutputTokens: 4 });
    }
    // Turns in flight while the server goes down and comes back: each is retried with its key.
    const inFlight = sessions.map((s) =>
      client.turn(s.sessionId, { turnKey: 'c', inputTokens: 40, maxOutputTokens: 400 }),
    );
    await stack.nats.server.restart();
    const results = await Promise.all(inFlight);
    expect(results.map((r) => r.turn)).toEqual(sessions.map(() => 3));
    await waitFor(
      () => stack.scheduler.fleet.size === 2 && [...stack.scheduler.fleet.nodes].every((n) => n.liveness === 'alive'),
      'fleet back',
      10_000,
    );
    for (const s of sessions) {
      expect(await client.turn(s.sessionId, { turnKey: 'd', inputTokens: 40, maxOutputTokens: 4 })).toMatchObject({
        turn: 4,
      });
      expect((await readLogOf(stack.nats.client, s.sessionId)).map((e) => e.turnKey)).toEqual(['a', 'b', 'c', 'd']);
      expect(await client.get(s.sessionId)).toMatchObject({ state: 'open' });
    }
  });
});
