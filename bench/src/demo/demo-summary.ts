import type { ClusterView } from '@switchyard/protocol';
import { percentile, sortedCopy } from '../report/percentiles.js';
import { formatTable } from '../report/table.js';
import type { NodeGroup } from './demo-fleet.js';
import type { CordonReport } from './demo-kubernetes.js';
import type { RequestOutcome } from './load-driver.js';
import type { SessionAudit, TurnOutcome } from './session-driver.js';

/** One status poll's cluster figures. */
export interface ClusterSample {
  readonly atMs: number;
  readonly clusters: readonly ClusterView[];
}

/** Everything the demo measured. */
export interface DemoSummary {
  readonly durationMs: number;
  readonly outcomes: readonly RequestOutcome[];
  readonly samples: readonly ClusterSample[];
  readonly counters: Readonly<Record<string, number>>;
  readonly kill?: { readonly group: NodeGroup; readonly atMs: number; readonly deadDetectedAfterMs?: number };
  readonly sessions?: { readonly audit: SessionAudit; readonly turns: readonly TurnOutcome[] };
  readonly leaderKill?: { readonly atMs: number; readonly failoverMs?: number };
  /** A Kubernetes Node cordoned mid-run. */
  readonly cordon?: CordonReport;
  readonly resent?: { readonly noScheduler: number; readonly refused: number; readonly afterTimeout: number };
  readonly budgetCut?: {
    readonly cluster: string;
    readonly atMs: number;
    readonly fromWatts: number;
    readonly toWatts: number;
  };
  readonly sloTargets?: DemoSloTargets;
}

/** What each SLO class is held to in the summary. */
export interface DemoSloTargets {
  readonly interactiveTtftMs: number;
  readonly standardDeadlineMs: number;
  readonly batchDeadlineMs: number;
}

/**
 * Share of each class's requests that met its SLO: interactive — answered with a client-seen
 * TTFT within target; standard and batch — answered within their deadline. Errors count as misses.
 */
export function sloAttainment(
  outcomes: readonly RequestOutcome[],
  targets: DemoSloTargets,
): { sloClass: string; requests: number; met: number }[] {
  return (['interactive', 'standard', 'batch'] as const).map((sloClass) => {
    const rows = outcomes.filter((o) => o.sloClass === sloClass);
    const met = rows.filter((o) => {
      if (o.code !== 'ok') return false;
      if (sloClass === 'interactive') return (o.clientTtftMs ?? Number.POSITIVE_INFINITY) <= targets.interactiveTtftMs;
      return o.latencyMs <= (sloClass === 'standard' ? targets.standardDeadlineMs : targets.batchDeadlineMs);
    }).length;
    return { sloClass, requests: rows.length, met };
  });
}

const STAGE_MARK: Readonly<Record<string, string>> = { normal: '', steer: ' s', defer: ' D', cap: ' CAP' };

/** Per-cluster committed power against budget over time, one row per `everyMs`. */
export function powerTimeline(samples: readonly ClusterSample[], everyMs = 4000): string {
  const clusters = [
    ...new Set(samples.flatMap((s) => s.clusters.filter((c) => c.power !== undefined).map((c) => c.cluster))),
  ].sort();
  if (clusters.length === 0) return '';
  const rows: (string | number)[][] = [];
  let nextMs = 0;
  for (const sample of samples) {
    if (sample.atMs < nextMs) continue;
    nextMs = sample.atMs + everyMs;
    rows.push([
      `${(sample.atMs / 1000).toFixed(0)} s`,
      ...clusters.map((name) => {
        const power = sample.clusters.find((c) => c.cluster === name)?.power;
        if (power === undefined) return '–';
        const pct = power.budgetWatts > 0 ? Math.round((100 * power.measuredWatts) / power.budgetWatts) : 0;
        return `${(power.measuredWatts / 1000).toFixed(2)}/${(power.budgetWatts / 1000).toFixed(1)} kW ${pct}%${STAGE_MARK[power.stage] ?? ''}`;
      }),
    ]);
  }
  return formatTable(['time', ...clusters.map((c) => `${c} measured/budget`)], rows);
}

const avg = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
const ms = (x: number): string => (Number.isFinite(x) ? `${Math.round(x)}` : '–');

/** Requests that never got an answer from the system (a client-side timeout). Must be zero. */
export function unanswered(summary: DemoSummary): number {
  return summary.outcomes.filter((o) => o.code === 'CLIENT_TIMEOUT').length;
}

/** Renders the end-of-demo summary tables. */
export function renderSummary(summary: DemoSummary): string {
  const { outcomes } = summary;
  const ok = outcomes.filter((o) => o.code === 'ok');
  const byCode = new Map<string, number>();
  for (const o of outcomes) byCode.set(o.code, (byCode.get(o.code) ?? 0) + 1);
  const lines: string[] = [];
  lines.push(
    `Requests: ${outcomes.length} sent, ${ok.length} ok, ${outcomes.length - ok.length} errors, ${unanswered(summary)} unanswered` +
      (summary.resent === undefined
        ? ''
        : ` (resent: ${summary.resent.noScheduler} while no scheduler served, ${summary.resent.refused} after a retryable refusal, ${summary.resent.afterTimeout} after going unanswered)`),
  );
  lines.push(
    `Throughput: ${(ok.length / (summary.durationMs / 1000)).toFixed(1)} req/s answered over ${(summary.durationMs / 1000).toFixed(1)} s (load, then settling)`,
  );
  lines.push('');
  lines.push(
    formatTable(
      ['outcome', 'requests', 'share'],
      [...byCode.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([code, n]) => [code, n, `${((100 * n) / outcomes.length).toFixed(1)}%`]),
    ),
  );
  lines.push('');
  const models = [...new Set(outcomes.map((o) => o.model))].sort();
  lines.push(
    formatTable(
      ['model', 'ok', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'TTFT p50 ms', 'TTFT p99 ms'],
      [...models, 'all'].map((model) => {
        const rows = ok.filter((o) => model === 'all' || o.model === model);
        const lat = sortedCopy(rows.map((o) => o.latencyMs));
        const ttft = sortedCopy(rows.map((o) => o.ttftMs ?? Number.NaN).filter(Number.isFinite));
        return [
          model,
          rows.length,
          ms(percentile(lat, 50)),
          ms(percentile(lat, 90)),
          ms(percentile(lat, 99)),
          ms(lat[lat.length - 1] ?? Number.NaN),
          ms(percentile(ttft, 50)),
          ms(percentile(ttft, 99)),
        ];
      }),
    ),
  );
  lines.push('');
  const clusters = [...new Set(summary.samples.flatMap((s) => s.clusters.map((c) => c.cluster)))].sort();
  lines.push(
    formatTable(
      ['cluster', 'nodes', 'served', 'util avg', 'util peak', 'power avg W', 'power peak W', 'limit W'],
      clusters.map((cluster) => {
        const series = summary.samples.flatMap((s) => s.clusters.filter((c) => c.cluster === cluster));
        const util = series.map((c) => c.utilization);
        const power = series.map((c) => c.powerDrawWatts);
        return [
          cluster,
          series[series.length - 1]?.nodes ?? 0,
          ok.filter((o) => o.cluster === cluster).length,
          `${(100 * avg(util)).toFixed(1)}%`,
          `${(100 * Math.max(0, ...util)).toFixed(1)}%`,
          Math.round(avg(power)),
          Math.round(Math.max(0, ...power)),
          Math.round(Math.max(0, ...series.map((c) => c.powerLimitWatts))),
        ];
      }),
    ),
  );
  const timeline = powerTimeline(summary.samples);
  if (timeline !== '') {
    lines.push('');
    lines.push(
      'Power by cluster (s = steering new work away, D = deferring batch work, CAP = node power limits lowered):',
    );
    lines.push(timeline);
    if (summary.budgetCut !== undefined) {
      const { cluster, atMs, fromWatts, toWatts } = summary.budgetCut;
      const after = summary.samples.filter((s) => s.atMs > atMs);
      const under = after.find((s) => {
        const power = s.clusters.find((c) => c.cluster === cluster)?.power;
        return power !== undefined && power.measuredWatts <= toWatts;
      });
      lines.push(
        `Budget cut: ${cluster} ${(fromWatts / 1000).toFixed(1)} → ${(toWatts / 1000).toFixed(1)} kW at ${(atMs / 1000).toFixed(1)} s; ` +
          (under === undefined
            ? 'measured draw had not fallen under it by the end'
            : `measured draw under the new budget ${((under.atMs - atMs) / 1000).toFixed(1)} s later`),
      );
    }
  }
  if (summary.sloTargets !== undefined) {
    const t = summary.sloTargets;
    lines.push('');
    lines.push(
      formatTable(
        ['SLO class', 'target', 'requests', 'met', 'attainment'],
        sloAttainment(outcomes, t).map(({ sloClass, requests, met }) => [
          sloClass,
          sloClass === 'interactive'
            ? `TTFT ≤ ${t.interactiveTtftMs} ms`
            : `done ≤ ${((sloClass === 'standard' ? t.standardDeadlineMs : t.batchDeadlineMs) / 1000).toFixed(0)} s`,
          requests,
          met,
          requests === 0 ? '–' : `${((100 * met) / requests).toFixed(1)}%`,
        ]),
      ),
    );
  }
  const c = summary.counters;
  lines.push('');
  lines.push(
    `${summary.leaderKill === undefined ? 'Scheduler' : 'Scheduler (the leader at the end, since it took over)'}: ${c['placements.ok'] ?? 0} placements, ${c['requests.replaced'] ?? 0} re-placed after node loss, ` +
      `${c['power.limits.lowered'] ?? 0} node power limits lowered and ${c['power.limits.raised'] ?? 0} raised, ` +
      `${c['assignments.refused'] ?? 0} assignments refused, ${c['nodes.died'] ?? 0} nodes died, ${c['results.late'] ?? 0} late results ignored`,
  );
  if (summary.kill !== undefined) {
    const { group, atMs, deadDetectedAfterMs } = summary.kill;
    lines.push(
      `Failure: agent of ${group.nodes} ${group.profile} nodes in ${group.cluster} SIGKILLed at ${(atMs / 1000).toFixed(1)} s; ` +
        (deadDetectedAfterMs === undefined
          ? 'not yet marked dead at the end'
          : `marked dead ${(deadDetectedAfterMs / 1000).toFixed(1)} s later`) +
        `; unanswered requests: ${unanswered(summary)}`,
    );
  }
  if (summary.sessions !== undefined) {
    const { audit, turns } = summary.sessions;
    const answered = turns.filter((t) => t.code === 'ok');
    const lat = sortedCopy(answered.map((t) => t.latencyMs));
    const restored = answered.filter((t) => (t.restoredContextTokens ?? 0) > 0);
    lines.push('');
    lines.push(
      `Sessions: ${audit.sessions} agent sessions, ${audit.turnsAnswered} turns answered (p50 ${ms(percentile(lat, 50))} ms, ` +
        `p99 ${ms(percentile(lat, 99))} ms), ${turns.length - answered.length} failed; ${audit.moved} moved to another node ` +
        `(${restored.length} turns re-prefilled a restored context); durable logs complete and in order: ` +
        `${audit.sessions - audit.incompleteLogs}/${audit.sessions}`,
    );
  }
  if (summary.cordon !== undefined) {
    const { node, group, atMs, heldMs, drainedNodes, sessionsMoved } = summary.cordon;
    lines.push(
      `Kubernetes: Node ${node} cordoned at ${(atMs / 1000).toFixed(1)} s for ${(heldMs / 1000).toFixed(1)} s: ` +
        `${drainedNodes}/${group.nodes} of its ${group.profile} nodes drained, ${sessionsMoved} sessions moved off them, then it served again`,
    );
  }
  if (summary.leaderKill !== undefined) {
    const { atMs, failoverMs } = summary.leaderKill;
    lines.push(
      `Failover: scheduler leader SIGKILLed at ${(atMs / 1000).toFixed(1)} s; ` +
        (failoverMs === undefined
          ? 'standby had not taken over by the end'
          : `standby took over ${(failoverMs / 1000).toFixed(1)} s later`),
    );
  }
  return lines.join('\n');
}
