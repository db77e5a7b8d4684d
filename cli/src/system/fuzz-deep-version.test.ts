/**
 * A deeply nested `v` against a live scheduler and agent (issue 9, part 4; the barrage itself is in
 * fuzz.test.ts): one hostile body that used to kill the agent's read loop, kept as a regression test.
 */
import { type AgentHostHandle, startAgentHost } from '@switchyard/node-agent';
import { CancelAck, decode, ErrorReply, subjects } from '@switchyard/protocol';
import type { SchedulerHandle } from '@switchyard/scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nestedText } from '../../../protocol/src/fuzz-arbitraries.test-support.js';
import { TENANT, utf8 } from './fuzz-targets.test-support.js';
import {
  agentCredentialsFor,
  FAST_HEARTBEAT_MS,
  h100,
  type NatsFixture,
  startNats,
  startTestScheduler,
  testLogs,
  waitFor,
} from './harness.js';

/**
 * A deeply nested `v` (10 KB) used to make decode throw: the scheduler answered INTERNAL, and the
 * agent's read loop died of it (deaf to every subject while still heartbeating). Both now answer a
 * typed UNSUPPORTED_VERSION and go on serving.
 */
describe('a deeply nested "v": typed answers from the scheduler and the agent, which keeps serving', () => {
  /** 10 KB: far under MAX_MESSAGE_BYTES, so it reaches decode's version check. */
  const deepVersion = utf8(`{"v":${nestedText(5000, 'array')}}`);
  let nats: NatsFixture;
  let scheduler: SchedulerHandle;
  let agents: AgentHostHandle;

  beforeAll(async () => {
    nats = await startNats();
    scheduler = await startTestScheduler(nats.server.url);
    const natsCredentials = await agentCredentialsFor(nats.server.url, ['deaf-0']);
    agents = await startAgentHost({
      natsUrl: nats.server.url,
      ...(natsCredentials === undefined ? {} : { natsCredentials }),
      nodes: [h100('deaf-0')],
      heartbeatIntervalMs: FAST_HEARTBEAT_MS,
      logDestination: testLogs(),
    });
    await waitFor(() => scheduler.fleet.size === 1 && agents.agents.every((agent) => agent.registered), 'the node');
  });

  afterAll(async () => {
    // A deaf connection never completes a drain: give stop a moment, then close the socket.
    await Promise.race([agents?.stop(500), new Promise((resolve) => setTimeout(resolve, 2000))]);
    await agents?.nc.close().catch(() => undefined);
    await scheduler?.stop();
    await nats?.close();
  });

  it('the scheduler answers it UNSUPPORTED_VERSION, without a handler error', async () => {
    const reply = await nats.client.request(subjects.infer(TENANT), deepVersion, { timeout: 2000 });
    expect(decode(ErrorReply, reply.data)).toMatchObject({
      ok: true,
      value: { error: { code: 'UNSUPPORTED_VERSION' } },
    });
    expect(scheduler.counters.get('handler.errors')).toBe(0);
  });

  it('the agent answers it with a typed error and still answers the next request', async () => {
    const reply = await nats.client.request(subjects.nodeCancel('deaf-0', TENANT), deepVersion, { timeout: 1500 });
    expect(decode(ErrorReply, reply.data)).toMatchObject({
      ok: true,
      value: { error: { code: 'UNSUPPORTED_VERSION' } },
    });
    const next = await nats.client.request(subjects.nodeCancel('deaf-0', TENANT), utf8('{"v":1,"requestId":"r"}'), {
      timeout: 1500,
    });
    expect(decode(CancelAck, next.data)).toMatchObject({ ok: true });
  });
});
