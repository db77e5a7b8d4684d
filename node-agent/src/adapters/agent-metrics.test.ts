import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { BackendStatus } from '../backends/backend.js';
import type { NodeResultEvent } from '../node-agent.js';
import { AgentMetrics, type MeteredNode } from './agent-metrics.js';

const CATALOGUE = new URL('../../../docs/metrics.md', import.meta.url);

function cataloguedAgentMetrics(): string[] {
  const text = readFileSync(CATALOGUE, 'utf8');
  return [...text.slice(text.indexOf('## Agent')).matchAll(/^\| `(switchyard_[a-z_]+)`/gm)].map((m) => m[1]!);
}

const status: BackendStatus = {
  queueDepth: 2,
  inFlight: 5,
  maxBatchSize: 64,
  busyMs: 0,
  hbmTotalBytes: 80e9,
  hbmUsedBytes: 30e9,
  powerDrawWatts: 650,
  powerLimitWatts: 700,
  temperatureC: 60,
  models: [],
};
const node: MeteredNode = {
  nodeId: 'n1',
  cluster: 'fra',
  profile: 'h100',
  backendStatus: status,
  sessionCount: 3,
  utilization: 0.4,
};

function result(extra: Partial<NodeResultEvent>): NodeResultEvent {
  return {
    nodeId: 'n1',
    sloClass: 'interactive',
    ok: true,
    deadlineAfterMs: undefined,
    inputTokens: 100,
    outputTokens: 50,
    ttftMs: 200,
    totalMs: 2_000,
    energyJoules: 30,
    ...extra,
  };
}

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const L = 'node="n1",cluster="fra",profile="h100"';

describe('AgentMetrics', () => {
  it('exports every agent metric of docs/metrics.md', async () => {
    const metrics = new AgentMetrics(
      () => [node],
      () => true,
    );
    metrics.observe(result({}), node);
    const exported = new Set([...(await metrics.text()).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    expect(cataloguedAgentMetrics().filter((name) => !exported.has(name))).toEqual([]);
  });

  it('reads the backend at scrape time', async () => {
    const text = await new AgentMetrics(
      () => [node],
      () => false,
    ).text();
    expect(value(text, `switchyard_node_power_draw_watts{${L}}`)).toBe(650);
    expect(value(text, `switchyard_node_hbm_used_bytes{${L}}`)).toBe(30e9);
    expect(value(text, `switchyard_node_accelerator_utilization_ratio{${L}}`)).toBe(0.4);
    expect(value(text, `switchyard_node_sessions_hosted{${L}}`)).toBe(3);
    expect(value(text, 'switchyard_nats_connected')).toBe(0);
  });

  it.each([
    { name: 'interactive within its TTFT target', r: result({ ttftMs: 999 }), met: true },
    { name: 'interactive past its TTFT target', r: result({ ttftMs: 1_001 }), met: false },
    {
      name: 'standard within its own deadline',
      r: result({ sloClass: 'standard', totalMs: 4_000, deadlineAfterMs: 5_000 }),
      met: true,
    },
    {
      name: 'standard past its own deadline',
      r: result({ sloClass: 'standard', totalMs: 6_000, deadlineAfterMs: 5_000 }),
      met: false,
    },
    {
      name: 'standard without a deadline, under 30 s',
      r: result({ sloClass: 'standard', totalMs: 29_000 }),
      met: true,
    },
    { name: 'batch without a deadline, under 1 h', r: result({ sloClass: 'batch', totalMs: 3_000_000 }), met: true },
    { name: 'a failed request misses', r: result({ ok: false }), met: false },
  ])('counts $name as met=$met', async ({ r, met }) => {
    const metrics = new AgentMetrics(
      () => [node],
      () => true,
    );
    metrics.observe(r, node);
    const text = await metrics.text();
    const series = `switchyard_node_slo_total{${L},slo_class="${r.sloClass}",result="${met ? 'met' : 'missed'}"}`;
    expect(value(text, series)).toBe(1);
  });

  it('adds energy and tokens, and times only requests that finished', async () => {
    const metrics = new AgentMetrics(
      () => [node],
      () => true,
    );
    metrics.observe(result({}), node);
    metrics.observe(result({ ok: false, energyJoules: 5 }), node);
    const text = await metrics.text();
    expect(value(text, `switchyard_node_energy_joules_total{${L}}`)).toBe(35);
    expect(value(text, `switchyard_node_tokens_total{${L},kind="output"}`)).toBe(50);
    expect(value(text, `switchyard_node_ttft_seconds_count{${L},slo_class="interactive"}`)).toBe(1);
    expect(value(text, `switchyard_node_requests_total{${L},slo_class="interactive",outcome="error"}`)).toBe(1);
  });
});
