import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { getProfile } from '@switchyard/fleet-model';
import { describe, expect, it } from 'vitest';
import { FleetView } from '../../core/fleet/fleet-view.js';
import { SessionRegistry } from '../../core/sessions/session-registry.js';
import { registration } from '../../core/test-fixtures.js';
import { Topology } from '../../core/topology/topology.js';
import { Counters } from '../../service/ports.js';
import { SchedulerMetrics } from './scheduler-metrics.js';

const DETECTOR = { suspectAfterMs: 3_000, deadAfterMs: 5_000, forgetAfterMs: 60_000 };
const CATALOGUE = new URL('../../../../docs/metrics.md', import.meta.url);

/** The scheduler's metric names as docs/metrics.md lists them (its "Scheduler" table). */
function cataloguedSchedulerMetrics(): string[] {
  const text = readFileSync(CATALOGUE, 'utf8');
  const section = text.slice(text.indexOf('## Scheduler'), text.indexOf('## Agent'));
  return [...section.matchAll(/^\| `(switchyard_[a-z_]+)`/gm)].map((m) => m[1]!);
}

function fleetOf(nodes: number): { fleet: FleetView; counters: Counters; metrics: SchedulerMetrics } {
  const topology = new Topology({
    clusters: [
      { name: 'fra', location: 'fra', powerBudgetWatts: 10_000 },
      { name: 'iad', location: 'iad', powerBudgetWatts: 1_000_000 },
    ],
    regions: [],
  });
  const fleet = new FleetView(getProfile, DETECTOR, undefined, topology);
  for (let i = 0; i < nodes; i++) {
    fleet.register(
      registration({ nodeId: `n${i}`, cluster: i % 2 === 0 ? 'fra' : 'iad', profile: 'h100', powerDrawWatts: 1_800 }),
      0,
    );
  }
  const counters = new Counters();
  const metrics = new SchedulerMetrics({
    counters,
    fleet: () => fleet,
    sessions: () => new SessionRegistry(),
    queues: () => undefined,
    isLeader: () => true,
    natsConnected: () => true,
  });
  return { fleet, counters, metrics };
}

/** Lines of switchyard_ series in an exposition. */
function seriesCount(text: string): number {
  return text.split('\n').filter((l) => l.startsWith('switchyard_')).length;
}

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('SchedulerMetrics', () => {
  it('exports every scheduler metric of docs/metrics.md', async () => {
    const { counters, metrics } = fleetOf(4);
    counters.observe('placement.decision.interactive', 12e-6);
    const text = await metrics.text();
    const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    const missing = cataloguedSchedulerMetrics().filter((name) => !exported.has(name));
    expect(cataloguedSchedulerMetrics().length).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  });

  it('reads nodes and cluster power at scrape time and carries counters over as monotonic deltas', async () => {
    const { fleet, counters, metrics } = fleetOf(10);
    counters.increment('requests.admitted.interactive', 3);
    counters.increment('requests.rejected.batch.OVERLOADED');
    counters.increment('placements.by-class.standard.NO_CAPACITY', 2);
    counters.increment('placements.by-class.standard.SOMETHING_ELSE');
    counters.observe('admission.wait.batch', 0.3);
    counters.increment('heartbeats.invalid');
    let text = await metrics.text();
    expect(value(text, 'switchyard_heartbeats_total{outcome="invalid"}')).toBe(1);
    expect(value(text, 'switchyard_heartbeats_total{outcome="stale"}')).toBe(0);
    expect(value(text, 'switchyard_requests_admitted_total{slo_class="interactive"}')).toBe(3);
    expect(value(text, 'switchyard_requests_rejected_total{slo_class="batch",reason="OVERLOADED"}')).toBe(1);
    expect(value(text, 'switchyard_placements_total{slo_class="standard",outcome="no_capacity"}')).toBe(2);
    expect(value(text, 'switchyard_placements_total{slo_class="standard",outcome="other"}')).toBe(1);
    expect(value(text, 'switchyard_admission_wait_seconds_count{slo_class="batch"}')).toBe(1);
    expect(value(text, 'switchyard_nodes{cluster="fra",state="ready"}')).toBe(5);
    expect(value(text, 'switchyard_cluster_power_draw_watts{cluster="fra"}')).toBe(9_000);
    expect(value(text, 'switchyard_cluster_power_budget_watts{cluster="fra"}')).toBe(10_000);
    expect(value(text, 'switchyard_cluster_power_stage{cluster="fra"}')).toBe(1); // 90 % of the budget: steer
    fleet.setOperatorState('n0', 'cordoned');
    counters.increment('requests.admitted.interactive', 2);
    text = await metrics.text();
    expect(value(text, 'switchyard_requests_admitted_total{slo_class="interactive"}')).toBe(5);
    expect(value(text, 'switchyard_nodes{cluster="fra",state="cordoned"}')).toBe(1);
    expect(value(text, 'switchyard_nodes{cluster="fra",state="ready"}')).toBe(4);
  });

  it('keeps label cardinality independent of fleet size: no node ids in labels', async () => {
    const small = await fleetOf(4).metrics.text();
    const large = await fleetOf(400).metrics.text();
    expect(seriesCount(large)).toBe(seriesCount(small));
    expect(large).not.toMatch(/node="/);
  });

  it('passes promtool check metrics for every switchyard_ metric', async () => {
    const { counters, metrics } = fleetOf(6);
    counters.increment('heartbeats.applied', 5);
    counters.observe('placement.plugin.filter.schedulable', 1e-4);
    let output = '';
    try {
      execFileSync('promtool', ['check', 'metrics'], { input: await metrics.text(), encoding: 'utf8' });
    } catch (err) {
      const failure = err as { stdout?: string; stderr?: string };
      output = `${failure.stdout ?? ''}${failure.stderr ?? ''}`;
    }
    // prom-client's own default metrics (nodejs_active_*_total gauges) break a naming lint it does not
    // control; ours must have no finding at all.
    const ours = output.split('\n').filter((line) => line.startsWith('switchyard_'));
    expect(ours).toEqual([]);
  });
});
