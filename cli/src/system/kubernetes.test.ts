import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, encode, type NodeView, SessionClient, StatusResponse, subjects } from '@switchyard/protocol';
import { type FakeKubeApi, gfdH100Node, type ManagedProcess, startFakeKubeApi } from '@switchyard/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_DETECTOR, FAST_HEARTBEAT_MS, type NatsFixture, startNats, waitFor } from './harness.js';
import { requireBuiltCli, spawnCli } from './processes.js';

/** Short Lease timings in client-go's proportions (15 s / 10 s / 2 s). */
const LEASE = { durationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 100 };

/**
 * The scheduler in Kubernetes, as processes: two schedulers elect a leader through a
 * coordination.k8s.io Lease, and read Nodes from the API, against a stand-in API server (none can
 * be installed here; see test-kit's fake-kube-api.ts for the wire format it reproduces). The
 * agents say which Node they run on, as the DaemonSet's downward API tells them.
 */
describe('Kubernetes: Lease election and Node watching, as processes', () => {
  let nats: NatsFixture;
  let kube: FakeKubeApi;
  let kubeconfig: string;
  const schedulers = new Map<string, ManagedProcess>();
  const agents: ManagedProcess[] = [];

  const spawnScheduler = (id: string): ManagedProcess =>
    spawnCli(nats.server.url, [
      'scheduler',
      '--scheduler-id',
      id,
      '--leader-election',
      'kubernetes',
      '--kubeconfig',
      kubeconfig,
      '--namespace',
      'switchyard',
      '--lease-duration-ms',
      String(LEASE.durationMs),
      '--renew-deadline-ms',
      String(LEASE.renewDeadlineMs),
      '--retry-period-ms',
      String(LEASE.retryPeriodMs),
      '--suspect-after-ms',
      String(FAST_DETECTOR.suspectAfterMs),
      '--dead-after-ms',
      String(FAST_DETECTOR.deadAfterMs),
    ]);

  const spawnAgentOn = (nodeId: string, kubernetesNode: string, seed: number): ManagedProcess =>
    spawnCli(nats.server.url, [
      'agent',
      '--node-id',
      nodeId,
      '--nodes',
      '1',
      '--cluster',
      'k8s-1',
      '--profile',
      'h100',
      '--models',
      'llama-3.1-8b',
      '--kubernetes-node',
      kubernetesNode,
      '--heartbeat-interval-ms',
      String(FAST_HEARTBEAT_MS),
      '--seed',
      String(seed),
      '--log-level',
      'warn',
    ]);

  const status = async (): Promise<NodeView[]> => {
    const reply = await nats.client.request(subjects.adminStatus, encode({ v: 1 }), { timeout: 2000 });
    const decoded = decode(StatusResponse, reply.data);
    if (!decoded.ok || !decoded.value.ok) throw new Error('status failed');
    return decoded.value.nodes;
  };
  const holder = (): string | undefined =>
    (
      JSON.parse(JSON.stringify(kube.getLease('switchyard', 'switchyard-scheduler') ?? {})) as {
        spec?: { holderIdentity?: string };
      }
    ).spec?.holderIdentity;

  beforeAll(async () => {
    requireBuiltCli();
    nats = await startNats();
    kube = await startFakeKubeApi({ bearerToken: 'test-token', bookmarkIntervalMs: 200 });
    kube.putNode(gfdH100Node({ name: 'gpu-1', labels: { 'topology.kubernetes.io/zone': 'us-east-1a' } }));
    kube.putNode(gfdH100Node({ name: 'gpu-2', labels: { 'topology.kubernetes.io/zone': 'us-east-1b' } }));
    const options = kube.kubeConfigOptions();
    kubeconfig = join(mkdtempSync(join(tmpdir(), 'sy-kube-')), 'kubeconfig');
    // JSON is YAML: client-node reads it as a kubeconfig file.
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: options.clusters.map((c) => ({
          name: c.name,
          // Plain HTTP: client-node refuses it unless told to skip TLS verification.
          cluster: { server: c.server, 'insecure-skip-tls-verify': c.skipTLSVerify },
        })),
        users: options.users.map((u) => ({ name: u.name, user: { token: u.token } })),
        contexts: options.contexts.map((c) => ({ name: c.name, context: { cluster: c.cluster, user: c.user } })),
        'current-context': options.currentContext,
      }),
    );
    for (const id of ['sched-a', 'sched-b']) schedulers.set(id, spawnScheduler(id));
    agents.push(spawnAgentOn('ka', 'gpu-1', 1), spawnAgentOn('kb', 'gpu-2', 2));
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...agents, ...schedulers.values()].map((p) => p.stop(2000)));
    await kube?.close();
    await nats?.close();
  });

  it('elects one scheduler through the Lease, and shows every node with its Kubernetes Node', async () => {
    await waitFor(() => holder() !== undefined && holder() !== '', 'a Lease holder', 20_000);
    const leaderId = holder()!;
    await schedulers.get(leaderId)!.waitForLine(/"msg":"elected leader"/, 10_000);
    let nodes: NodeView[] = [];
    const poll = setInterval(
      () =>
        void status().then(
          (n) => (nodes = n),
          () => undefined,
        ),
      200,
    );
    try {
      await waitFor(() => nodes.length === 2 && nodes.every((n) => n.host?.condition === 'ready'), 'hosts', 20_000);
    } finally {
      clearInterval(poll);
    }
    expect(nodes.find((n) => n.nodeId === 'ka')?.host).toMatchObject({
      kubernetesNode: 'gpu-1',
      zone: 'us-east-1a',
      accelerator: expect.stringMatching(/H100/),
    });
    // Only the API's own requests used the token: every request the server saw was authorised.
    expect(kube.requests.every((r) => r.status !== 401)).toBe(true);
  }, 60_000);

  it('drains the agents of a cordoned Node: its sessions move to another node', async () => {
    const client = new SessionClient(nats.client, { tenant: 'k8s', turnDeadlineMs: 15_000, requestTimeoutMs: 3000 });
    const sessions = await Promise.all(Array.from({ length: 6 }, () => client.open({ model: 'llama-3.1-8b' })));
    // Cordon the Node under the first session's owner (placement may pack sessions on one node).
    const nodeOf: Record<string, string> = { ka: 'gpu-1', kb: 'gpu-2' };
    const drainedNode = sessions[0]!.ownerNodeId!;
    const survivor = drainedNode === 'ka' ? 'kb' : 'ka';
    kube.cordon(nodeOf[drainedNode]!);
    let owners = new Map<string, string | null>();
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      owners = new Map(
        await Promise.all(
          sessions.map(async (s) => [s.sessionId, (await client.get(s.sessionId)).ownerNodeId] as const),
        ),
      );
      if ([...owners.values()].every((owner) => owner === survivor)) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect([...owners.values()].every((owner) => owner === survivor)).toBe(true);
    const nodes = await status();
    expect(nodes.find((n) => n.nodeId === drainedNode)).toMatchObject({
      state: 'draining',
      host: { kubernetesNode: nodeOf[drainedNode], condition: 'cordoned' },
    });
    // Sessions go on where they now are.
    for (const s of sessions) {
      expect(await client.turn(s.sessionId, { turnKey: 't1', inputTokens: 50, maxOutputTokens: 4 })).toMatchObject({
        turn: 1,
      });
    }
    kube.cordon(nodeOf[drainedNode]!, false);
  }, 60_000);

  it('hands over to the standby when the leader is SIGKILLed: within a lease duration and a bit', async () => {
    const leaderId = holder()!;
    const [standbyId, standby] = [...schedulers.entries()].find(([id]) => id !== leaderId)!;
    schedulers.get(leaderId)!.kill('SIGKILL');
    const killedAt = Date.now();
    await standby.waitForLine(/"msg":"elected leader"/, LEASE.durationMs * 6);
    const failoverMs = Date.now() - killedAt;
    expect(holder()).toBe(standbyId);
    // The standby waits a lease duration from the last renewal it saw, plus at most a jittered retry.
    expect(failoverMs).toBeGreaterThanOrEqual(LEASE.durationMs - 2 * LEASE.retryPeriodMs);
    expect(failoverMs).toBeLessThanOrEqual(LEASE.durationMs + 1_500);
    let nodes: NodeView[] = [];
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && nodes.length < 2) {
      nodes = await status().catch(() => []);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(nodes.map((n) => n.nodeId).toSorted()).toEqual(['ka', 'kb']);
    expect(nodes.every((n) => n.host?.kubernetesNode !== undefined)).toBe(true);
  }, 60_000);
});
