import {
  ClusterBudgetResponse,
  decode,
  encode,
  ExplainResponse,
  LatencyReportResponse,
  subjects,
} from '@switchyard/protocol';
import type { SchedulerHandle } from '@switchyard/scheduler';
import type { AgentHostHandle } from '@switchyard/node-agent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { h100, l4, type NatsFixture, startNats, startTestAgents, startTestScheduler, waitFor } from './harness.js';

/** Explain, budget and latency admin subjects against a real scheduler over a real nats-server. */
describe('placement explanations and power administration over NATS', () => {
  let nats: NatsFixture;
  let scheduler: SchedulerHandle;
  let agents: AgentHostHandle;

  const request = async (subject: string, body: object): Promise<Uint8Array> =>
    (await nats.client.request(subject, encode(body), { timeout: 2000 })).data;

  beforeAll(async () => {
    nats = await startNats();
    scheduler = await startTestScheduler(nats.server.url, {
      topology: {
        clusters: [
          { name: 'near', location: 'a', powerBudgetWatts: 50_000 },
          { name: 'far', location: 'b', powerBudgetWatts: 50_000 },
        ],
        regions: [{ name: 'eu', latencyMs: { near: 4, far: 120 } }],
      },
    });
    agents = await startTestAgents(nats.server.url, [h100('near-0', 'near', 1), l4('far-0', 'far', 2)]);
    await waitFor(() => scheduler.fleet.size === 2 && agents.agents.every((a) => a.registered), 'nodes to register');
  });

  afterAll(async () => {
    await agents?.stop(1000);
    await scheduler?.stop();
    await nats?.close();
  });

  it('explains a placement with every candidate and its prediction, and reserves nothing', async () => {
    const data = await request(subjects.adminExplain, {
      v: 1,
      model: 'llama-3.1-8b',
      inputTokens: 512,
      maxOutputTokens: 64,
      region: 'eu',
    });
    const decoded = decode(ExplainResponse, data);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok || !decoded.value.ok) throw new Error('expected an explanation');
    const reply = decoded.value;
    expect(reply.candidatesTotal).toBe(2);
    expect(reply.decision).toMatchObject({ ok: true });
    const network = Object.fromEntries(reply.candidates.map((c) => [c.nodeId, c.estimate?.networkMs]));
    expect(network).toEqual({ 'near-0': 4, 'far-0': 120 });
    expect(reply.power.map((p) => p.cluster).sort()).toEqual(['far', 'near']);
    expect(scheduler.fleet.openReservations).toBe(0);
  });

  it('refuses an unknown region and a malformed body with typed errors', async () => {
    const unknown = decode(
      ExplainResponse,
      await request(subjects.adminExplain, {
        v: 1,
        model: 'llama-3.1-8b',
        inputTokens: 1,
        maxOutputTokens: 1,
        region: 'mars',
      }),
    );
    expect(unknown.ok && !unknown.value.ok && unknown.value.error.code).toBe('UNKNOWN_REGION');
    const bad = decode(ExplainResponse, await request(subjects.adminExplain, { v: 1, model: 'x', inputTokens: -5 }));
    expect(bad.ok && !bad.value.ok && bad.value.error.code).toBe('INVALID_REQUEST');
  });

  it('takes a measured round trip over the configured one, and a new budget', async () => {
    const latency = decode(
      LatencyReportResponse,
      await request(subjects.adminLatency, {
        v: 1,
        samples: [
          { region: 'eu', cluster: 'far', rttMs: 40 },
          { region: 'mars', cluster: 'far', rttMs: 1 },
        ],
      }),
    );
    expect(latency.ok && latency.value.ok && latency.value.applied).toBe(1);
    expect(scheduler.fleet.topology.find('far')?.networkMs('eu')).toBe(40);

    const budget = decode(
      ClusterBudgetResponse,
      await request(subjects.adminPowerBudget, { v: 1, cluster: 'near', budgetWatts: 1000, safetyMargin: 0.1 }),
    );
    expect(budget.ok && budget.value.ok && budget.value.power).toMatchObject({
      cluster: 'near',
      budgetWatts: 1000,
      safetyMargin: 0.1,
    });
    const invalid = decode(
      ClusterBudgetResponse,
      await request(subjects.adminPowerBudget, { v: 1, cluster: 'near', budgetWatts: -1 }),
    );
    expect(invalid.ok && !invalid.value.ok && invalid.value.error.code).toBe('INVALID_REQUEST');
  });
});
