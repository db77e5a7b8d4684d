/**
 * An agent process in front of a model server: `--backend openai` forwarding to a stand-in for
 * vLLM's OpenAI-compatible server (its streaming wire format and metrics, node-agent's
 * fake-vllm-server.ts), behind a real nats-server and scheduler. A client streams text through the
 * scheduler straight from the node, a plain request gets the whole text, and a server that fails
 * answers the client at once with an error instead of leaving it waiting.
 */
import { FakeVllmServer } from '@switchyard/node-agent';
import { encode, RemoteError, streamInfer, subjects } from '@switchyard/protocol';
import type { SchedulerHandle } from '@switchyard/scheduler';
import type { ManagedProcess } from '@switchyard/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infer, type NatsFixture, startNats, startTestScheduler, waitFor } from './harness.js';
import { requireBuiltCli, singleNodeAgent } from './processes.js';

describe('agent with --backend openai (stand-in vLLM server)', () => {
  let nats: NatsFixture;
  let scheduler: SchedulerHandle;
  let server: FakeVllmServer;
  let agent: ManagedProcess;

  beforeAll(async () => {
    requireBuiltCli();
    server = await FakeVllmServer.start({ models: ['llama-3.1-8b'], tokensPerSecond: 400, firstTokenDelayMs: 20 });
    nats = await startNats();
    scheduler = await startTestScheduler(nats.server.url);
    agent = singleNodeAgent(nats.server.url, {
      nodeId: 'vllm-0',
      cluster: 'gpu-1',
      profile: 'h100',
      chips: 1,
      models: 'llama-3.1-8b',
      extraArgs: ['--backend', 'openai', '--model-server-url', server.url],
    });
    await agent.ready();
    // The node reports the model once its agent has seen the server healthy and serving it.
    await waitFor(
      () => scheduler.fleet.get('vllm-0')?.loadedModels.has('llama-3.1-8b') === true,
      'the node to report the served model',
      20_000,
    );
  }, 60_000);

  afterAll(async () => {
    await agent?.stop(5_000);
    await scheduler?.stop();
    await nats?.close();
    await server?.close();
  });

  it('streams the text through the scheduler, straight from the node, in order', async () => {
    const pieces: string[] = [];
    const result = await streamInfer(
      nats.client,
      { model: 'llama-3.1-8b', inputTokens: 20, maxOutputTokens: 24, prompt: 'Tell me about switchyards.' },
      { tenant: 'tests', onText: (text) => pieces.push(text) },
    );
    expect(pieces.length).toBeGreaterThan(3);
    expect(pieces.join('')).toBe(result.text);
    expect(result.chunks).toBe(pieces.length);
    expect(result.outputTokens).toBe(24);
    expect(result.timings.ttftMs).toBeGreaterThanOrEqual(15);
    expect(result.timings.totalMs).toBeGreaterThan(result.timings.ttftMs);
  }, 30_000);

  it('answers a plain request with the whole text', async () => {
    const answer = await infer(nats.client, { inputTokens: 20, maxOutputTokens: 8, prompt: 'Hello' });
    expect(answer.ok).toBe(true);
    expect(answer.ok && answer.text !== undefined && answer.text.length > 0).toBe(true);
  }, 30_000);

  it('fails a request visibly when the model server refuses it, instead of leaving the client waiting', async () => {
    // Over the server's context length (8,192): vLLM answers 400, the agent turns it into an error reply.
    const error = await streamInfer(
      nats.client,
      { model: 'llama-3.1-8b', inputTokens: 20, maxOutputTokens: 9_000, prompt: 'x' },
      { tenant: 'tests', onText: () => {}, idleTimeoutMs: 20_000 },
    ).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).message).toMatch(/vllm-0/);
  }, 30_000);

  it('cancels a streamed request: the node stops it and the model server sees its request aborted', async () => {
    const cancelledBefore = server.cancelled;
    const abort = new AbortController();
    let pieces = 0;
    const error = await streamInfer(
      nats.client,
      // 2,000 tokens at 400 tokens/s: five seconds of work, cancelled after its first text.
      { model: 'llama-3.1-8b', inputTokens: 20, maxOutputTokens: 2_000, prompt: 'Go on and on.' },
      {
        tenant: 'tests',
        signal: abort.signal,
        onText: () => {
          if (++pieces === 1) abort.abort();
        },
      },
    ).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'CANCELLED', message: expect.stringContaining('vllm-0') });
    await waitFor(() => server.cancelled > cancelledBefore, 'the model server to see the request aborted', 5_000);
    // The node reported it done (CANCELLED): the scheduler holds nothing for it any more.
    await waitFor(() => scheduler.fleet.get('vllm-0')?.reservations.size === 0, 'the reservation released', 5_000);
  }, 30_000);

  it("refuses to cancel another tenant's request: answered as not found, and the request completes", async () => {
    const cancelledBefore = server.cancelled;
    // With an idempotency key the request id is known: "<tenant>:<key>".
    const requestId = 'tests:cancel-probe';
    let cancelAnswer: Promise<unknown> | undefined;
    const result = await streamInfer(
      nats.client,
      {
        model: 'llama-3.1-8b',
        inputTokens: 20,
        maxOutputTokens: 200,
        prompt: 'Keep going.',
        idempotencyKey: 'cancel-probe',
      },
      {
        tenant: 'tests',
        onText: () => {
          // Tenant "intruder" names the request on the node's cancel subject for its own tenant.
          cancelAnswer ??= nats.client
            .request(subjects.nodeCancel('vllm-0', 'intruder'), encode({ v: 1, requestId }), { timeout: 5_000 })
            .then((reply) => JSON.parse(new TextDecoder().decode(reply.data)) as unknown);
        },
      },
    );
    expect(result).toMatchObject({ ok: true, requestId, outputTokens: 200 });
    expect(await cancelAnswer).toEqual({ v: 1, ok: true, requestId, cancelled: false });
    expect(server.cancelled).toBe(cancelledBefore);
  }, 30_000);
});
