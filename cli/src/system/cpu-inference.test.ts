/**
 * Real inference on the CPU: two agent processes running the generated tiny llama through
 * llama.cpp (--backend llama-cpp), a real nats-server and scheduler. Tokens are real (the text is
 * nonsense: random weights); a streamed request gets them in order; a session survives its owner's
 * SIGKILL, the new owner re-prefilling the conversation from the durable log.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTinyLlamaModel } from '@switchyard/node-agent';
import { SessionClient, streamInfer } from '@switchyard/protocol';
import { LATENCY_PLACEMENT_CONFIG, type SchedulerHandle } from '@switchyard/scheduler';
import type { ManagedProcess } from '@switchyard/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsFixture, startNats, startTestScheduler, waitFor } from './harness.js';
import { requireBuiltCli, singleNodeAgent } from './processes.js';

function cpuAgent(natsUrl: string, nodeId: string, modelPath: string): ManagedProcess {
  return singleNodeAgent(natsUrl, {
    nodeId,
    cluster: 'edge-cpu',
    profile: 'cpu',
    chips: 1,
    models: 'tiny-llama',
    extraArgs: ['--backend', 'llama-cpp', '--model-path', modelPath, '--max-concurrency', '2', '--threads', '1'],
  });
}

describe('CPU inference with llama.cpp (--backend llama-cpp)', () => {
  let nats: NatsFixture;
  let scheduler: SchedulerHandle;
  const agents = new Map<string, ManagedProcess>();

  beforeAll(async () => {
    requireBuiltCli();
    const model = await ensureTinyLlamaModel(join(mkdtempSync(join(tmpdir(), 'cpu-inference-')), 'tiny.gguf'));
    nats = await startNats();
    scheduler = await startTestScheduler(nats.server.url, { placement: LATENCY_PLACEMENT_CONFIG });
    for (const nodeId of ['cpu-a', 'cpu-b']) {
      const agent = cpuAgent(nats.server.url, nodeId, model.path);
      agents.set(nodeId, agent);
      await agent.ready();
    }
    await waitFor(() => scheduler.fleet.size === 2, 'both CPU nodes to register', 20_000);
  }, 90_000);

  afterAll(async () => {
    for (const agent of agents.values()) agent.kill('SIGKILL');
    await scheduler?.stop();
    await nats?.close();
  });

  it('streams real tokens in order through the scheduler', async () => {
    const pieces: string[] = [];
    const result = await streamInfer(
      nats.client,
      { model: 'tiny-llama', inputTokens: 16, maxOutputTokens: 32, prompt: 'Once upon a time' },
      { tenant: 'cpu', onText: (text) => pieces.push(text), idleTimeoutMs: 30_000 },
    );
    expect(result.outputTokens).toBe(32);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe(result.text);
    expect(result.timings.totalMs).toBeGreaterThan(result.timings.ttftMs);
  }, 60_000);

  it('moves a session when its owner is SIGKILLed: the new owner re-prefills the conversation', async () => {
    const client = new SessionClient(nats.client, { tenant: 'cpu', turnDeadlineMs: 30_000, requestTimeoutMs: 5_000 });
    const session = await client.open({ model: 'tiny-llama', expectedContextTokens: 1_000 });
    const owner = session.ownerNodeId!;
    const turn = (key: string, prompt: string) =>
      client.turn(session.sessionId, { turnKey: key, inputTokens: 8, maxOutputTokens: 12, prompt });
    const first = await turn('t1', 'The first question.');
    expect(first).toMatchObject({ nodeId: owner, turn: 1, outputTokens: 12 });
    expect(first.text).toBeTruthy();

    agents.get(owner)!.kill('SIGKILL');
    await waitFor(() => scheduler.fleet.get(owner)?.liveness === 'dead', `${owner} declared dead`, 10_000);
    const second = await turn('t2', 'The second question.');
    expect(second.nodeId).not.toBe(owner);
    expect(second).toMatchObject({ turn: 2, outputTokens: 12, replayed: false });
    expect(second.restoredContextTokens).toBeGreaterThan(0);
    // The first turn, run once on the old owner, is still answered from the log.
    expect(await turn('t1', 'The first question.')).toMatchObject({ turn: 1, replayed: true, text: first.text });
  }, 90_000);
});
