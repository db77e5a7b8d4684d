import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type AgentHostHandle, startAgentHost } from '@switchyard/node-agent';
import {
  BatchClient,
  createNkeyUser,
  encode,
  inboxPrefixOf,
  natsAuthOptions,
  type NatsCredentials,
  type NatsIdentity,
  natsServerConfig,
  SessionClient,
  streamInfer,
  subjects,
} from '@switchyard/protocol';
import { DEFAULT_TENANT_LIMITS, type SchedulerHandle } from '@switchyard/scheduler';
import { NatsServerProcess } from '@switchyard/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_HEARTBEAT_MS, h100, infer, startTestScheduler, testLogs, waitFor } from './harness.js';

/**
 * Identity and least privilege, enforced by a real nats-server started with the authorization
 * config Switchyard generates (natsServerConfig): every process has its own nkey, and the server
 * refuses what a role must not do before any Switchyard code sees it.
 */
const IDENTITIES = {
  scheduler: { role: 'scheduler', user: 'sched' },
  agentA: { role: 'agent', user: 'agent-a', nodeIds: ['node-a'] },
  agentB: { role: 'agent', user: 'agent-b', nodeIds: ['node-b'] },
  alice: { role: 'client', user: 'alice', tenant: 'tenant-a' },
  bob: { role: 'client', user: 'bob', tenant: 'tenant-b' },
  carol: { role: 'client', user: 'carol', tenant: 'tenant-q' },
  dave: { role: 'client', user: 'dave', tenant: 'tenant-r' },
  ops: { role: 'operator', user: 'ops' },
} as const satisfies Record<string, NatsIdentity>;
type Who = keyof typeof IDENTITIES;

/** What the server told a connection it refused (nats.js reports permission errors as status events). */
interface Refusals {
  readonly seen: string[];
}

describe('nats-server authorization generated from the permission model', () => {
  let server: NatsServerProcess;
  let scheduler: SchedulerHandle;
  let agents: AgentHostHandle[] = [];
  const credentials = new Map<Who, NatsCredentials>();
  const connections: NatsConnection[] = [];

  /** Connects as `who`, collecting the permission errors the server sends. */
  async function connectAs(who: Who): Promise<{ nc: NatsConnection; refusals: Refusals }> {
    const nc = await connect({ servers: server.url, ...natsAuthOptions(credentials.get(who)) });
    connections.push(nc);
    const refusals: Refusals = { seen: [] };
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'error') refusals.seen.push(String(status.error));
      }
    })();
    return { nc, refusals };
  }

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-auth-'));
    const users = Object.entries(IDENTITIES).map(([who, identity]) => {
      const { publicKey, seed } = createNkeyUser();
      const seedFile = join(dir, `${who}.nk`);
      writeFileSync(seedFile, seed, { mode: 0o600 });
      credentials.set(who as Who, { nkeySeedFile: seedFile, inboxPrefix: inboxPrefixOf(identity) });
      return { identity, secret: { kind: 'nkey' as const, publicKey } };
    });
    const configFile = join(dir, 'auth.conf');
    writeFileSync(configFile, natsServerConfig({ users }));
    server = await NatsServerProcess.start({ args: ['-c', configFile] });
    scheduler = await startTestScheduler(server.url, {
      natsCredentials: credentials.get('scheduler')!,
      // Tenant q is small: one session, two requests at once, then one a second.
      tenantQuotas: {
        defaults: DEFAULT_TENANT_LIMITS,
        tenants: {
          'tenant-q': { maxSessions: 1, requestsPerSecond: 1, burstRequests: 3 },
          // Tenant r gets one request, then one every 100 s: enough to see a batch refused.
          'tenant-r': { requestsPerSecond: 0.01, burstRequests: 1 },
        },
      },
    });
    agents = await Promise.all(
      (['agentA', 'agentB'] as const).map((who, i) =>
        startAgentHost({
          natsUrl: server.url,
          natsCredentials: credentials.get(who)!,
          nodes: [h100(IDENTITIES[who].nodeIds[0], 'test-1', i + 1)],
          heartbeatIntervalMs: FAST_HEARTBEAT_MS,
          logDestination: testLogs(),
        }),
      ),
    );
    await waitFor(() => scheduler.fleet.size === 2, 'both agents registered', 15_000);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
    await Promise.all(agents.map((agent) => agent.stop(500)));
    await scheduler?.stop();
    await server?.stop();
  });

  it('refuses a connection without credentials, or with a key it does not know', async () => {
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow(/Authorization Violation/i);
    const stranger = join(mkdtempSync(join(tmpdir(), 'sy-auth-')), 'stranger.nk');
    writeFileSync(stranger, createNkeyUser().seed);
    await expect(
      connect({ servers: server.url, reconnect: false, ...natsAuthOptions({ nkeySeedFile: stranger }) }),
    ).rejects.toThrow(/Authorization Violation/i);
  });

  it('serves clients end to end with every process on its own credentials', async () => {
    const { nc } = await connectAs('alice');
    expect(await infer(nc, {}, { tenant: 'tenant-a' })).toMatchObject({ ok: true });
    const sessions = new SessionClient(nc, { tenant: 'tenant-a', turnDeadlineMs: 10_000 });
    const session = await sessions.open({ model: 'llama-3.1-8b' });
    expect(
      await sessions.turn(session.sessionId, { turnKey: 'k1', inputTokens: 20, maxOutputTokens: 4 }),
    ).toMatchObject({
      turn: 1,
    });
    // Streaming: chunks come to the client's own inbox (under its prefix), not to _INBOX.<anything>.
    const result = await streamInfer(
      nc,
      { model: 'llama-3.1-8b', inputTokens: 20, maxOutputTokens: 8, prompt: 'hello' },
      { tenant: 'tenant-a', onText: () => undefined },
    );
    expect(result).toMatchObject({ ok: true });
    // Assignments are acknowledged: the scheduler's ack inbox lies under its own prefix (a long request,
    // so that it is still running when its node's ack comes back).
    const long = infer(
      nc,
      { maxOutputTokens: 1_000, idempotencyKey: 'ack-probe' },
      { tenant: 'tenant-a', timeoutMs: 30_000 },
    );
    await waitFor(
      () => scheduler.fleet.reservation('tenant-a:ack-probe')?.confirmedAtMs !== undefined,
      'the assignment acknowledged',
      1_500,
    );
    expect(await long).toMatchObject({ ok: true });
    expect(scheduler.counters.get('assignments.refused')).toBe(0);
  });

  it("refuses an agent publishing another node's heartbeat, or reading its work or all inboxes", async () => {
    const { nc: observer } = await connectAs('scheduler');
    const spoofed: string[] = [];
    observer.subscribe(subjects.heartbeat('node-b'), {
      callback: (_err, msg) => {
        if (new TextDecoder().decode(msg.data).includes('spoofed')) spoofed.push(msg.subject);
      },
    });
    await observer.flush();
    const { nc, refusals } = await connectAs('agentA');
    nc.publish(subjects.heartbeat('node-b'), encode({ v: 1, incarnation: 'spoofed' }));
    nc.subscribe(subjects.assign('node-b'));
    nc.subscribe('_INBOX.>');
    nc.subscribe(subjects.sessionTurn('tenant-a', 's-1', 'node-b'));
    await nc.flush();
    await waitFor(() => refusals.seen.length >= 4, 'four permission errors', 5_000);
    expect(refusals.seen.join('\n')).toMatch(/publish.*sy\.v1\.agent\.node-b\.heartbeat/i);
    expect(refusals.seen.join('\n')).toMatch(/subscription.*sy\.v1\.node\.node-b\.assign/i);
    expect(refusals.seen.join('\n')).toMatch(/subscription.*_INBOX\.>/i);
    expect(refusals.seen.join('\n')).toMatch(/subscription.*turn\.node-b/i);
    await observer.flush();
    expect(spoofed).toEqual([]);
    // Its own subjects still work: the scheduler still sees node-a alive.
    expect(scheduler.fleet.get('node-a')?.liveness).toBe('alive');
  });

  it("keeps tenants apart: tenant A cannot open, read or send turns to tenant B's sessions", async () => {
    const bobSessions = new SessionClient((await connectAs('bob')).nc, { tenant: 'tenant-b' });
    const bobs = await bobSessions.open({ model: 'llama-3.1-8b' });
    const { nc, refusals } = await connectAs('alice');
    nc.publish(subjects.session('tenant-b', 'get'), encode({ v: 1, sessionId: bobs.sessionId }));
    nc.publish(subjects.sessionTurn('tenant-b', bobs.sessionId, bobs.ownerNodeId!), encode({ v: 1 }));
    nc.publish(subjects.infer('tenant-b'), encode({ v: 1 }));
    nc.subscribe('_INBOX.tenant.tenant-b.>');
    await nc.flush();
    await waitFor(() => refusals.seen.length >= 4, 'four permission errors', 5_000);
    const said = refusals.seen.join('\n');
    expect(said).toMatch(/publish.*sy\.v1\.tenant\.tenant-b\.session\.get/i);
    expect(said).toMatch(/publish.*sy\.v1\.tenant\.tenant-b\.session\.s-[^.]+\.turn/i);
    expect(said).toMatch(/publish.*sy\.v1\.tenant\.tenant-b\.infer/i);
    expect(said).toMatch(/subscription.*_INBOX\.tenant\.tenant-b/i);
    // A request to another tenant's subject fails at once (the server refuses it), not after a timeout.
    const startedMs = Date.now();
    await expect(
      new SessionClient(nc, { tenant: 'tenant-b', requestTimeoutMs: 5_000 }).get(bobs.sessionId),
    ).rejects.toThrow(/permissions violation/i);
    expect(Date.now() - startedMs).toBeLessThan(2_000);
    expect((await bobSessions.get(bobs.sessionId)).state).toBe('open');
  });

  it('lets only operators use the admin subjects', async () => {
    const { nc, refusals } = await connectAs('alice');
    nc.publish(subjects.adminNode('drain'), encode({ v: 1, nodeId: 'node-a' }));
    await nc.flush();
    await waitFor(() => refusals.seen.length >= 1, 'a permission error', 5_000);
    expect(refusals.seen[0]).toMatch(/publish.*sy\.v1\.admin\.node\.drain/i);
    const { nc: ops } = await connectAs('ops');
    const reply = await ops.request(subjects.adminStatus, encode({ v: 1 }), { timeout: 2_000 });
    expect(JSON.parse(new TextDecoder().decode(reply.data))).toMatchObject({ ok: true, totalNodes: 2 });
    expect(scheduler.fleet.get('node-a')?.operatorState).toBe('active');
  });

  it('holds a tenant to its quotas at admission: QUOTA_EXCEEDED for a second session, RATE_LIMITED past its rate', async () => {
    const { nc } = await connectAs('carol');
    const sessions = new SessionClient(nc, { tenant: 'tenant-q' });
    await sessions.open({ model: 'llama-3.1-8b' });
    await expect(sessions.open({ model: 'llama-3.1-8b' })).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' });
    // The session open took one request of the burst of 3; two more pass, the next is refused with a wait.
    const replies = [];
    for (let i = 0; i < 3; i++) replies.push(await infer(nc, { maxOutputTokens: 2 }, { tenant: 'tenant-q' }));
    expect(replies.slice(0, 2).map((r) => r.ok)).toEqual([true, true]);
    expect(replies[2]).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED', retryable: true } });
    const limited = replies[2]!;
    if (limited.ok) throw new Error('expected a refusal');
    expect(limited.error.retryAfterMs).toBeGreaterThan(0);
    expect(limited.error.retryAfterMs).toBeLessThanOrEqual(1_000);
    // Other tenants are untouched.
    expect(await infer((await connectAs('alice')).nc, {}, { tenant: 'tenant-a' })).toMatchObject({ ok: true });
  });

  it("runs a tenant's batch: items placed by the scheduler, results sent by the agents to the scheduler's inbox", async () => {
    const batches = new BatchClient((await connectAs('alice')).nc, 'tenant-a');
    const accepted = await batches.submit({
      model: 'llama-3.1-8b',
      items: Array.from({ length: 4 }, () => ({ inputTokens: 20, maxOutputTokens: 3 })),
      deadlineAfterMs: 60_000,
    });
    let status = await batches.status(accepted.batchId);
    for (let i = 0; i < 100 && status.state !== 'done'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = await batches.status(accepted.batchId);
    }
    expect(status).toMatchObject({ state: 'done', items: 4, done: 4, failed: 0 });
  });

  it('counts a batch submission against the request rate; a retry of an accepted batch is answered, not refused', async () => {
    const batches = new BatchClient((await connectAs('dave')).nc, 'tenant-r');
    const batch = {
      model: 'llama-3.1-8b',
      items: [{ inputTokens: 20, maxOutputTokens: 2 }],
      deadlineAfterMs: 60_000,
      idempotencyKey: 'nightly-1',
    };
    const accepted = await batches.submit(batch);
    await expect(batches.submit({ ...batch, idempotencyKey: 'nightly-2' })).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      retryAfterMs: expect.any(Number),
    });
    await expect(batches.submit(batch)).resolves.toMatchObject({ batchId: accepted.batchId });
  });
});
