/**
 * Hostile input against a live system (issue 9, part 4): a real nats-server, an in-process
 * scheduler and an agent host with two nodes, and fast-check bodies fired at every subject either
 * process listens on, as requests and as plain publishes. Every request must be answered with a
 * typed reply (the very error decode gives, when decode refuses the body); every fire-and-forget
 * message must be counted as dropped; and afterwards both processes must still serve: a normal
 * inference succeeds, heartbeats apply, each node answers, nothing leaked or polluted a prototype.
 * The subjects under fire, their hostile bodies and the check of a reply are in
 * fuzz-targets.test-support.ts; fuzz-deep-version.test.ts keeps one hostile body (a deeply nested
 * `v`) as a regression test of its own.
 *
 * CI runs a fixed seed and FUZZ_ROUNDS = 40 rounds; each round sends one body to each of the 39
 * subjects, once as a request and once as a plain publish (about 3 s of barrage, 15 s for the file on
 * a 2-core VM). Longer:
 *
 *   SWITCHYARD_FUZZ_RUNS=2000 npx vitest run cli/src/system/fuzz.test.ts
 *
 * SWITCHYARD_FUZZ_SEED picks another seed; a failure prints the seed and path to replay with
 * SWITCHYARD_FUZZ_SEED/SWITCHYARD_FUZZ_PATH. Bodies come from protocol/src/fuzz-arbitraries.test-support.ts,
 * shared with protocol/src/codec.fuzz.test.ts.
 */
import { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { NatsConnection } from '@nats-io/transport-node';
import * as fc from 'fast-check';
import type { z } from 'zod';
import { type AgentHostHandle, startAgentHost } from '@switchyard/node-agent';
import {
  CancelAck,
  connectionInbox,
  decode,
  MESSAGE_SCHEMAS,
  SessionClient,
  type SessionInfo,
  subjects,
} from '@switchyard/protocol';
import type { SchedulerHandle } from '@switchyard/scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exampleOf,
  fuzzFailureAsync,
  fuzzRuns,
  fuzzTimeoutMs,
  type Json,
  PrototypeGuard,
} from '../../../protocol/src/fuzz-arbitraries.test-support.js';
import {
  bodyNodeId,
  checkReply,
  describeBody,
  hostilePayload,
  NODE_IDS,
  type Target,
  targetsFor,
  TENANT,
  utf8,
} from './fuzz-targets.test-support.js';
import {
  FAST_HEARTBEAT_MS,
  h100,
  infer,
  l4,
  type NatsFixture,
  agentCredentialsFor,
  startNats,
  startTestScheduler,
  waitFor,
} from './harness.js';

/** Rounds in CI; each sends one body to each subject, as a request and as a publish. */
const FUZZ_ROUNDS = fuzzRuns(40);
/** A healthy process answers in milliseconds; a valid body may run a (tiny) inference first. */
const REPLY_TIMEOUT_MS = 10_000;

/** Log lines of one process, parsed; tests read what was logged instead of discarding it. */
class CapturedLog {
  readonly messages = new Map<string, number>();
  private partial = '';
  readonly stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      const lines = (this.partial + chunk.toString('utf8')).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) this.record(line);
      done();
    },
  });

  count(message: string): number {
    return this.messages.get(message) ?? 0;
  }

  private record(line: string): void {
    let msg: unknown;
    try {
      msg = (JSON.parse(line) as { msg?: unknown }).msg;
    } catch {
      msg = '(a log line that is not JSON)';
    }
    if (typeof msg === 'string') this.messages.set(msg, (this.messages.get(msg) ?? 0) + 1);
  }
}

/** Heap in use after a full collection. vitest's workers run without --expose-gc, so it is switched on here. */
function heapUsedAfterGc(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('fuzzing every subject of a live scheduler and agents', () => {
  let nats: NatsFixture;
  let scheduler: SchedulerHandle;
  let agents: AgentHostHandle;
  let sessions: SessionClient;
  let session: SessionInfo;
  let targets: Target[];
  const schedulerLog = new CapturedLog();
  const agentLog = new CapturedLog();
  const guard = new PrototypeGuard();
  /** Counter increments the barrage must cause, by counter name. */
  const expectedCounts = new Map<string, number>();
  /** Replies that fire-and-forget subjects sent although they must not answer. */
  const unwantedReplies: string[] = [];
  let baselineCounters: Record<string, number>;
  let baselineNoticeDrops = 0;
  let expectedNoticeDrops = 0;
  let baselineHeapBytes = 0;
  let sentBytes = 0;

  const expectCount = (name: string): void => {
    expectedCounts.set(name, (expectedCounts.get(name) ?? 0) + 1);
  };

  beforeAll(async () => {
    nats = await startNats();
    scheduler = await startTestScheduler(nats.server.url, { logDestination: schedulerLog.stream });
    const natsCredentials = await agentCredentialsFor(nats.server.url, NODE_IDS);
    agents = await startAgentHost({
      natsUrl: nats.server.url,
      ...(natsCredentials === undefined ? {} : { natsCredentials }),
      nodes: [h100(NODE_IDS[0]), l4(NODE_IDS[1])],
      heartbeatIntervalMs: FAST_HEARTBEAT_MS,
      logDestination: agentLog.stream,
    });
    await waitFor(
      () => scheduler.fleet.size === NODE_IDS.length && agents.agents.every((agent) => agent.registered),
      'both nodes to register',
    );
    sessions = new SessionClient(nats.client, { tenant: TENANT, turnDeadlineMs: 5000 });
    session = await sessions.open({ model: 'llama-3.1-8b' });
    const ownerNodeId = session.ownerNodeId;
    if (ownerNodeId === null) throw new Error(`session ${session.sessionId} opened without an owner`);
    targets = targetsFor(session, ownerNodeId);
    const warmUp = await infer(nats.client, {}, { tenant: TENANT });
    if (!warmUp.ok) throw new Error(`the stack does not serve before the barrage: ${warmUp.error.message}`);
    baselineCounters = scheduler.counters.snapshot();
    baselineNoticeDrops = agentLog.count('invalid notice dropped');
    baselineHeapBytes = heapUsedAfterGc();
  });

  afterAll(async () => {
    await agents?.stop(1000);
    await scheduler?.stop();
    await nats?.close();
  });

  /** Sends one body as a request (checking the answer, or its absence) and once more as a plain publish. */
  async function fire(
    nc: NatsConnection,
    target: Target,
    bytes: Uint8Array,
    silence: string,
    shot: number,
  ): Promise<void> {
    const local = decode(MESSAGE_SCHEMAS[target.message] as z.ZodType, bytes);
    sentBytes += 2 * bytes.byteLength;
    for (const asRequest of [false, true]) {
      if (target.message === 'InferRequest' && !asRequest) {
        // Without a reply subject an inference request is dropped whatever its body: nobody could get the answer.
        expectCount('dropped.invalid.INVALID_REQUEST');
      } else if (target.counted === 'rejection' && !local.ok) {
        expectCount(`invalid.${local.error.code}`);
      } else if (target.counted === 'agent-notice' && !local.ok) {
        expectedNoticeDrops++;
      } else if (target.counted === 'drop' && !local.ok) {
        expectCount(`dropped.invalid.${local.error.code}`);
        if (target.message === 'Heartbeat') expectCount('heartbeats.invalid');
      } else if (target.counted === 'drop' && local.ok && bodyNodeId(local.value) !== target.subjectNodeId) {
        expectCount('dropped.identity-mismatch');
      }
    }
    nc.publish(target.subject, bytes);
    if (target.replies.length === 0 && target.unknownVerb !== true) {
      nc.publish(target.subject, bytes, { reply: `${silence}.${shot}` });
      return;
    }
    const reply = await nc.request(target.subject, bytes, { timeout: REPLY_TIMEOUT_MS }).catch((err: unknown) => {
      throw new Error(`${target.label} did not answer ${describeBody(bytes)}: ${String(err)}`);
    });
    checkReply(target, bytes, local, reply.data);
  }

  it(
    'answers every request with a typed reply and counts every dropped message, whatever the body',
    async () => {
      const nc = nats.client;
      const silence = connectionInbox(nats.client);
      const silent = nc.subscribe(`${silence}.*`, {
        callback: (_err, msg) =>
          void unwantedReplies.push(`${msg.subject}: ${new TextDecoder().decode(msg.data.subarray(0, 200))}`),
      });
      let shot = 0;
      const failure = await fuzzFailureAsync(
        fc.asyncProperty(fc.tuple(...targets.map(hostilePayload)), async (bodies) => {
          await Promise.all(bodies.map((bytes, index) => fire(nc, targets[index]!, bytes, silence, shot++)));
          guard.check('a round of hostile messages');
        }),
        // No shrinking: every replay costs round trips through both processes; the seed and path replay the failure.
        FUZZ_ROUNDS,
        { endOnFailure: true },
      );
      expect(failure).toBeUndefined();
      // Each process answers in order: once these replies are here, anything either sent before them has arrived too.
      await nc.request(subjects.adminStatus, utf8('{"v":1}'), { timeout: REPLY_TIMEOUT_MS });
      await nc.request(subjects.nodeCancel(NODE_IDS[0], TENANT), utf8('{"v":1,"requestId":"fuzz-order"}'), {
        timeout: REPLY_TIMEOUT_MS,
      });
      await nc.flush();
      silent.unsubscribe();
      expect(unwantedReplies).toEqual([]);
      const moved = (name: string): number => scheduler.counters.get(name) - (baselineCounters[name] ?? 0);
      await waitFor(
        () => [...expectedCounts].every(([name, count]) => moved(name) >= count),
        'every refused message to be counted',
      ).catch(() => undefined);
      expect(Object.fromEntries([...expectedCounts.keys()].map((name) => [name, moved(name)]))).toEqual(
        Object.fromEntries(expectedCounts),
      );
      await waitFor(
        () => agentLog.count('invalid notice dropped') - baselineNoticeDrops >= expectedNoticeDrops,
        'every invalid notice to be dropped',
      ).catch(() => undefined);
      expect(agentLog.count('invalid notice dropped') - baselineNoticeDrops).toBe(expectedNoticeDrops);
      expect(scheduler.counters.get('handler.errors')).toBe(0);
      expect(schedulerLog.count('handler failed') + schedulerLog.count('reply failed')).toBe(0);
    },
    fuzzTimeoutMs(FUZZ_ROUNDS, 4000),
  );

  it('tells each unknown node to register once, however fast it heartbeats', async () => {
    const ghosts = Array.from({ length: 300 }, (_, index) => `fuzz-ghost-${index}`);
    const noticed = new Map<string, number>();
    const notices = nats.client.subscribe('sy.v1.node.*.notice', {
      callback: (_err, msg) => void noticed.set(msg.subject, (noticed.get(msg.subject) ?? 0) + 1),
    });
    const before = scheduler.counters.get('dropped.unknown-node');
    const heartbeat = exampleOf('Heartbeat') as Record<string, Json>;
    for (const nodeId of ghosts) {
      // Twice back to back: the second must be dropped without a second notice.
      const body = utf8(JSON.stringify({ ...heartbeat, nodeId, sentAtMs: Date.now() }));
      nats.client.publish(subjects.heartbeat(nodeId), body);
      nats.client.publish(subjects.heartbeat(nodeId), body);
    }
    await waitFor(
      () => scheduler.counters.get('dropped.unknown-node') - before >= 2 * ghosts.length,
      'the ghost heartbeats to be dropped',
    );
    await nats.client.request(subjects.adminStatus, utf8('{"v":1}'), { timeout: REPLY_TIMEOUT_MS });
    await nats.client.flush();
    notices.unsubscribe();
    expect(scheduler.counters.get('dropped.unknown-node') - before).toBe(2 * ghosts.length);
    expect(noticed.size).toBe(ghosts.length);
    expect([...noticed.values()].every((count) => count === 1)).toBe(true);
    for (const nodeId of ghosts) expect(scheduler.fleet.get(nodeId)).toBeUndefined();
  });

  it('keeps serving afterwards: inference, heartbeats, every node, bounded memory, no pollution', async () => {
    expect(await infer(nats.client, {}, { tenant: TENANT })).toMatchObject({ ok: true });
    const applied = scheduler.counters.get('heartbeats.applied');
    await waitFor(
      () => scheduler.counters.get('heartbeats.applied') >= applied + 2 * NODE_IDS.length,
      'heartbeats to keep applying',
    );
    expect(scheduler.fleet.size).toBe(NODE_IDS.length);
    for (const nodeId of NODE_IDS) {
      expect(scheduler.fleet.get(nodeId)?.liveness).toBe('alive');
      const ack = await nats.client.request(
        subjects.nodeCancel(nodeId, TENANT),
        utf8('{"v":1,"requestId":"fuzz-after"}'),
        {
          timeout: REPLY_TIMEOUT_MS,
        },
      );
      expect(decode(CancelAck, ack.data)).toMatchObject({ ok: true, value: { cancelled: false } });
    }
    expect(
      await sessions.turn(session.sessionId, { turnKey: 'after-fuzz', inputTokens: 8, maxOutputTokens: 2 }),
    ).toMatchObject({ replayed: false });
    expect(scheduler.isLeader).toBe(true);
    expect(scheduler.counters.get('handler.errors')).toBe(0);
    expect(guard.changes()).toEqual([]);
    // Nothing the barrage started is still held: requests, reservations, jobs.
    await waitFor(() => scheduler.openRequests() === 0, 'open requests to drain');
    await waitFor(() => scheduler.fleet.openReservations === 0, 'reservations to be released');
    await waitFor(() => agents.agents.every((agent) => agent.activeJobs === 0), 'agent jobs to finish');
    // Counter names come from fixed sets (codes, reasons), never from what a body or subject said.
    const counterNames = Object.keys(scheduler.counters.snapshot());
    expect(counterNames.length).toBeLessThan(200);
    expect(counterNames.filter((name) => /fuzz|ghost|trn2/.test(name))).toEqual([]);
    // The scheduler and agents keep nothing per hostile message: the heap grew by far less than was sent.
    const grownBytes = heapUsedAfterGc() - baselineHeapBytes;
    expect(grownBytes).toBeLessThan(Math.max(32 * 1024 * 1024, sentBytes / 4));
  });
});
