/**
 * Sessions on stateless model servers: each of two agent processes fronts its own stand-in vLLM
 * server (chat API). A session's turns carry the conversation so far to the server; when the
 * owner process is SIGKILLed, the new owner rebuilds the history from the durable log and the next
 * turn reaches its server with every earlier exchange: the migration's re-prefill.
 */
import { FakeVllmServer } from '@switchyard/node-agent';
import { LATENCY_PLACEMENT_CONFIG, type SchedulerHandle } from '@switchyard/scheduler';
import { SessionClient } from '@switchyard/protocol';
import type { ManagedProcess } from '@switchyard/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsFixture, startNats, startTestScheduler, waitFor } from './harness.js';
import { requireBuiltCli, singleNodeAgent } from './processes.js';

function agentFor(natsUrl: string, nodeId: string, server: FakeVllmServer): ManagedProcess {
  return singleNodeAgent(natsUrl, {
    nodeId,
    cluster: 'chat-1',
    profile: 'h100',
    chips: 1,
    models: 'llama-3.1-8b',
    extraArgs: ['--backend', 'openai', '--model-server-url', server.url, '--model-server-api', 'chat'],
  });
}

/** The chat messages of the last request a server received. */
function lastMessages(server: FakeVllmServer): { role: string; content: string }[] {
  const body = server.requestBodies.at(-1) as { messages?: { role: string; content: string }[] } | undefined;
  return body?.messages ?? [];
}

describe('sessions on stateless model servers (--backend openai, chat API)', () => {
  let nats: NatsFixture;
  let scheduler: SchedulerHandle;
  const servers = new Map<string, FakeVllmServer>();
  const agents = new Map<string, ManagedProcess>();

  beforeAll(async () => {
    requireBuiltCli();
    nats = await startNats();
    scheduler = await startTestScheduler(nats.server.url, { placement: LATENCY_PLACEMENT_CONFIG });
    for (const nodeId of ['chat-a', 'chat-b']) {
      const server = await FakeVllmServer.start({ models: ['llama-3.1-8b'], tokensPerSecond: 2_000 });
      servers.set(nodeId, server);
      const agent = agentFor(nats.server.url, nodeId, server);
      agents.set(nodeId, agent);
      await agent.ready();
    }
    await waitFor(
      () => ['chat-a', 'chat-b'].every((id) => scheduler.fleet.get(id)?.loadedModels.has('llama-3.1-8b') === true),
      'both nodes serving the model',
      20_000,
    );
  }, 60_000);

  afterAll(async () => {
    for (const agent of agents.values()) agent.kill('SIGKILL');
    await scheduler?.stop();
    await nats?.close();
    for (const server of servers.values()) await server.close();
  });

  it('sends the history with every turn, and the new owner replays it from the log after the old one dies', async () => {
    const client = new SessionClient(nats.client, { tenant: 'chat', turnDeadlineMs: 20_000, requestTimeoutMs: 3_000 });
    const session = await client.open({ model: 'llama-3.1-8b', expectedContextTokens: 4_000 });
    const owner = session.ownerNodeId!;
    const other = owner === 'chat-a' ? 'chat-b' : 'chat-a';
    const turn = (key: string, prompt: string) =>
      client.turn(session.sessionId, { turnKey: key, inputTokens: 8, maxOutputTokens: 6, prompt });

    const first = await turn('t1', 'Where do trains sleep?');
    const second = await turn('t2', 'And in winter?');
    expect(first.text).toBeTruthy();
    expect(lastMessages(servers.get(owner)!)).toEqual([
      { role: 'user', content: 'Where do trains sleep?' },
      { role: 'assistant', content: first.text },
      { role: 'user', content: 'And in winter?' },
    ]);

    agents.get(owner)!.kill('SIGKILL');
    await waitFor(() => scheduler.fleet.get(owner)?.liveness === 'dead', `${owner} declared dead`, 10_000);
    const third = await turn('t3', 'Thanks.');
    expect(third).toMatchObject({ nodeId: other, turn: 3, replayed: false });
    expect(third.restoredContextTokens).toBeGreaterThan(0);
    expect(lastMessages(servers.get(other)!)).toEqual([
      { role: 'user', content: 'Where do trains sleep?' },
      { role: 'assistant', content: first.text },
      { role: 'user', content: 'And in winter?' },
      { role: 'assistant', content: second.text },
      { role: 'user', content: 'Thanks.' },
    ]);
  }, 60_000);
});
