import { Writable } from 'node:stream';
import type { NatsConnection } from '@nats-io/transport-node';
import { getProfile, POWER_CAP_SPEED_EXPONENT } from '@switchyard/fleet-model';
import {
  type Assignment,
  connectionInbox,
  decode,
  encode,
  ErrorReply,
  Heartbeat,
  InferResult,
  MAX_MESSAGE_BYTES,
  subjects,
} from '@switchyard/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The scheduler's real client side of the command against the agent's real server side.
import { type AgentHostHandle, startAgentHost } from '@switchyard/node-agent';
import { NatsOutbox } from '@switchyard/scheduler';
import { agentCredentialsFor, type NatsFixture, startNats } from './harness.js';

const HEARTBEAT_MS = 100;
const NODES = ['pw-a', 'pw-b'] as const;
const L4_FLOOR_WATTS = 2 * getProfile('l4')!.minPowerLimitWattsPerChip;
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const command = (limitWatts: number, reason = 'test') => ({ v: 1 as const, limitWatts, reason });

/** Resolves once `condition` holds; polls, since the things awaited arrive on NATS callbacks. */
async function waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Every heartbeat the agents send, in arrival order. */
class HeartbeatTap {
  readonly seen: Heartbeat[] = [];

  constructor(nc: NatsConnection) {
    nc.subscribe('sy.v1.agent.*.heartbeat', {
      callback: (err, msg) => {
        if (err !== null) return;
        const decoded = decode(Heartbeat, msg.data);
        if (decoded.ok) this.seen.push(decoded.value);
      },
    });
  }

  /** Heartbeats of `nodeId` that arrived after the first `mark` heartbeats of all nodes. */
  since(mark: number, nodeId: string): Heartbeat[] {
    return this.seen.slice(mark).filter((h) => h.nodeId === nodeId);
  }

  /** The first `count` heartbeats of `nodeId` after `mark`, once they have arrived. */
  next(mark: number, nodeId: string, count = 1): Promise<Heartbeat[]> {
    return waitFor(() => {
      const after = this.since(mark, nodeId);
      return after.length >= count ? after.slice(0, count) : undefined;
    }, `${count} heartbeats of ${nodeId}`);
  }
}

describe('power limits over NATS: NatsOutbox → a real agent host with simulated nodes', () => {
  let nats: NatsFixture;
  let client: NatsConnection;
  let host: AgentHostHandle;
  let outbox: NatsOutbox;
  let heartbeats: HeartbeatTap;
  const logLines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    nats = await startNats();
    client = nats.client;
    heartbeats = new HeartbeatTap(client);
    await client.flush();
    const natsCredentials = await agentCredentialsFor(nats.server.url, [...NODES, 'pw-l4']);
    host = await startAgentHost({
      natsUrl: nats.server.url,
      ...(natsCredentials === undefined ? {} : { natsCredentials }),
      heartbeatIntervalMs: HEARTBEAT_MS,
      logLevel: 'info',
      logDestination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString().split('\n')) if (line !== '') logLines.push(JSON.parse(line));
          done();
        },
      }),
      // Same seed on both: the same work runs identically, so b is a's uncapped twin.
      nodes: [
        ...NODES.map((nodeId) => ({
          nodeId,
          cluster: 'c1',
          zone: 'z1',
          profile: 'h100',
          models: ['llama-3.1-8b'],
          seed: 7,
        })),
        // An operator limit below the hardware floor: it starts clamped to the floor.
        {
          nodeId: 'pw-l4',
          cluster: 'c1',
          zone: 'z1',
          profile: 'l4',
          chipCount: 2,
          models: [],
          seed: 1,
          powerLimitWatts: 10,
        },
      ],
    });
    outbox = new NatsOutbox(client, silent);
    await heartbeats.next(0, 'pw-a');
    await heartbeats.next(0, 'pw-b');
  });

  afterAll(async () => {
    outbox?.close();
    await host?.stop(0);
    await nats?.close();
  });

  it('acks the applied limit, logs the reason, and the next heartbeat carries it — on that node only', async () => {
    const mark = heartbeats.seen.length;
    const reply = await outbox.setPowerLimit('pw-a', command(3000, 'c1 over budget (cap stage)'), 2000);
    expect(reply).toEqual({ v: 1, ok: true, nodeId: 'pw-a', appliedWatts: 3000 });
    const [a] = await heartbeats.next(mark, 'pw-a');
    const [b] = await heartbeats.next(mark, 'pw-b');
    expect(a!.powerLimitWatts).toBe(3000);
    expect(b!.powerLimitWatts).toBe(5600);
    expect(logLines).toContainEqual(
      expect.objectContaining({
        msg: 'power limit applied',
        nodeId: 'pw-a',
        requestedWatts: 3000,
        appliedWatts: 3000,
        previousWatts: 5600,
        reason: 'c1 over budget (cap stage)',
      }),
    );

    const clamped = await outbox.setPowerLimit('pw-b', command(100), 2000);
    expect(clamped).toEqual({ v: 1, ok: true, nodeId: 'pw-b', appliedWatts: 1600 });
    const restore = await Promise.all(NODES.map((id) => outbox.setPowerLimit(id, command(1e6, 'restore'), 2000)));
    expect(restore.map((r) => ('appliedWatts' in r ? r.appliedWatts : r))).toEqual([5600, 5600]);
  });

  it('starts a node at the operator limit given at start-up, clamped, and lets the scheduler change it', async () => {
    const [first] = await heartbeats.next(0, 'pw-l4');
    expect(first!.powerLimitWatts).toBe(L4_FLOOR_WATTS);
    expect(logLines).toContainEqual(
      expect.objectContaining({
        msg: 'operator power limit set at start',
        nodeId: 'pw-l4',
        requestedWatts: 10,
        appliedWatts: L4_FLOOR_WATTS,
      }),
    );
    const mark = heartbeats.seen.length;
    expect(await outbox.setPowerLimit('pw-l4', command(100), 2000)).toMatchObject({ ok: true, appliedWatts: 100 });
    expect((await heartbeats.next(mark, 'pw-l4'))[0]!.powerLimitWatts).toBe(100);
  });

  it('reports a node nobody hosts as no-responders, and a refused command as the typed ErrorReply', async () => {
    expect(await outbox.setPowerLimit('pw-ghost', command(3000), 2000)).toMatchObject({
      ok: false,
      transport: 'no-responders',
    });
    const refused = await outbox.setPowerLimit('pw-a', command(-5), 2000);
    expect(ErrorReply.parse(refused).error).toMatchObject({ code: 'INVALID_REQUEST', retryable: false });
  });

  it('treats an ack naming another node, or a body that is no reply at all, as invalid-reply; silence as timeout', async () => {
    const answer = (nodeId: string, body: string | undefined) =>
      client.subscribe(subjects.nodePower(nodeId), {
        callback: (err, msg) => {
          if (err === null && body !== undefined) msg.respond(body);
        },
      });
    const subs = [
      answer('pw-imposter', JSON.stringify({ v: 1, ok: true, nodeId: 'pw-a', appliedWatts: 3000 })),
      answer('pw-garbled', '{"v":1,"ok":tru'),
      answer('pw-mute', undefined),
    ];
    await client.flush();
    expect(await outbox.setPowerLimit('pw-imposter', command(3000), 2000)).toEqual({
      ok: false,
      transport: 'invalid-reply',
      message: 'power limit ack for pw-imposter names pw-a',
    });
    expect(await outbox.setPowerLimit('pw-garbled', command(3000), 2000)).toMatchObject({
      ok: false,
      transport: 'invalid-reply',
      message: expect.stringMatching(/^INVALID_REQUEST: body is not valid JSON/),
    });
    expect(await outbox.setPowerLimit('pw-mute', command(3000), 200)).toEqual({
      ok: false,
      transport: 'timeout',
      message: 'node pw-mute did not answer within 200 ms',
    });
    for (const sub of subs) sub.unsubscribe();
  });

  it.each([
    ['malformed JSON', '{"v":1,"limitWatts":30', 'INVALID_REQUEST'],
    ['an empty body', '', 'INVALID_REQUEST'],
    ['a future version', JSON.stringify({ v: 9, limitWatts: 3000, reason: 'r' }), 'UNSUPPORTED_VERSION'],
    ['a wrong type', JSON.stringify({ v: 1, limitWatts: 'lots', reason: 'r' }), 'INVALID_REQUEST'],
    ['an unknown field', JSON.stringify({ v: 1, limitWatts: 3000, reason: 'r', chips: [0] }), 'INVALID_REQUEST'],
    [
      'an oversize body (under the server limit, over ours)',
      JSON.stringify({ v: 1, limitWatts: 3000, reason: 'x'.repeat(MAX_MESSAGE_BYTES) }),
      'PAYLOAD_TOO_LARGE',
    ],
  ] as const)('answers %s with %s and keeps serving', async (_name, body, code) => {
    const reply = await client.request(subjects.nodePower('pw-a'), body, { timeout: 2000 });
    const decoded = decode(ErrorReply, reply.data);
    expect(decoded.ok && decoded.value.error).toMatchObject({ code, retryable: false });
    expect(await outbox.setPowerLimit('pw-a', command(5600), 2000)).toMatchObject({ ok: true, appliedWatts: 5600 });
  });

  it('a busy node capped to 60 % of its demand draws under the limit by the next heartbeat and slows by (limit/demand)^0.75', async () => {
    const inbox = connectionInbox(client);
    const results: InferResult[] = [];
    client.subscribe(`${inbox}.>`, {
      callback: (err, msg) => {
        const decoded = err === null ? decode(InferResult, msg.data) : undefined;
        if (decoded?.ok === true) results.push(decoded.value);
      },
    });
    await client.flush();
    const jobs = 32;
    const t0 = Date.now();
    const assigned: Promise<{ nodeId: string; ackedMs: number }>[] = [];
    for (const nodeId of NODES) {
      for (let i = 0; i < jobs; i++) {
        const assignment: Assignment = {
          v: 1,
          requestId: `${nodeId}-${i}`,
          attempt: 1,
          tenant: 't',
          model: 'llama-3.1-8b',
          inputTokens: 16,
          maxOutputTokens: 300,
          priority: 'normal',
          sloClass: 'standard',
          replyTo: `${inbox}.${nodeId}`,
        };
        assigned.push(
          client
            .request(subjects.assign(nodeId), encode(assignment), { timeout: 5000 })
            .then(() => ({ nodeId, ackedMs: Date.now() - t0 })),
        );
      }
    }
    // An ack follows the submit, so every job of a started by the last of a's acks.
    const lastAssignedMs = Math.max(
      ...(await Promise.all(assigned)).filter((a) => a.nodeId === 'pw-a').map((a) => a.ackedMs),
    );
    // Wait until a's whole batch is decoding: its demand is then steady until the first job ends.
    const busy = await waitFor(
      () => heartbeats.seen.findLast((h) => h.nodeId === 'pw-a' && h.inFlight === jobs && h.sentAtMs > t0),
      'pw-a decoding all its jobs',
    );
    const demandWatts = busy.powerDrawWatts;
    expect(demandWatts).toBeGreaterThan(3000);
    const limitWatts = 0.6 * demandWatts;
    const mark = heartbeats.seen.length;
    const capSentMs = Date.now() - t0;
    const ack = await outbox.setPowerLimit('pw-a', command(limitWatts, 'c1 cap stage'), 2000);
    const capAckedMs = Date.now() - t0;
    expect(ack).toEqual({ v: 1, ok: true, nodeId: 'pw-a', appliedWatts: limitWatts });

    for (const hb of await heartbeats.next(mark, 'pw-a', 2)) {
      expect(hb.powerLimitWatts).toBe(limitWatts);
      expect(hb.powerDrawWatts).toBeLessThanOrEqual(limitWatts);
    }
    const twin = heartbeats.since(mark, 'pw-b')[0] ?? (await heartbeats.next(mark, 'pw-b'))[0]!;
    expect(twin.powerDrawWatts).toBe(demandWatts);

    await waitFor(() => (results.length === 2 * jobs ? true : undefined), 'every job to finish');
    const totalOf = (id: string) => results.find((r) => r.requestId === id)!.timings.totalMs;
    for (let i = 0; i < jobs; i++) expect(totalOf(`pw-a-${i}`)).toBeGreaterThan(totalOf(`pw-b-${i}`) * 1.3);

    // Until its first job ends, a decodes the same batch as b at speed s = 0.6^0.75 after the cap.
    // Counted from its job's start, the cap landed no later than its ack (jobs started after t0) and
    // no earlier than its sending less the last job start, so a's first finish lies between these.
    const speed = 0.6 ** POWER_CAP_SPEED_EXPONENT;
    const firstOf = (nodeId: string) =>
      Math.min(...results.filter((r) => r.nodeId === nodeId).map((r) => r.timings.totalMs));
    const free = firstOf('pw-b');
    const stretched = (capAtMs: number) => capAtMs + (free - capAtMs) / speed;
    expect(firstOf('pw-a')).toBeGreaterThanOrEqual(stretched(capAckedMs) * 0.99);
    expect(firstOf('pw-a')).toBeLessThanOrEqual(stretched(capSentMs - lastAssignedMs) * 1.01);
  });
});
