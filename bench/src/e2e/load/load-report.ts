import { formatTable } from '../../report/table.js';
import type { LatencySummary } from './latency-recorder.js';
import { LOAD_CLASSES } from './load-outcome.js';
import type { LoadRunResult, LoadSearchResult } from './run-load.js';

/** Milliseconds with the precision that matters at their size (sub-ms hops, multi-second e2e). */
export function formatLatencyMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return String(Math.round(ms));
}

function latencyRow(name: string, s: LatencySummary): (string | number)[] {
  return [
    name,
    s.count,
    formatLatencyMs(s.p50Ms),
    formatLatencyMs(s.p90Ms),
    formatLatencyMs(s.p99Ms),
    formatLatencyMs(s.p999Ms),
    formatLatencyMs(s.maxMs),
  ];
}

/** The human report of one load run: throughput, latency percentiles, per-class counts, errors, power. */
export function renderLoadRun(result: Omit<LoadRunResult, 'outcomes'>): string {
  const { config, throughput, stateless, sessions } = result;
  const lines: string[] = [];
  lines.push(
    `Load: ${config.ratePerS} req/s offered open-loop (Poisson) for ${(config.durationMs / 1000).toFixed(0)} s, ` +
      `${config.sessions} agent sessions (think ${config.thinkMeanMs} ms mean); ${config.agents} agent processes, ` +
      `${config.nodes} ${config.profile} nodes; sizes: ${config.sizesSource} (≤ ${config.maxInputTokens} in, ≤ ${config.maxOutputTokens} out)`,
  );
  lines.push(
    `Throughput: offered ${throughput.offeredPerS.toFixed(1)} req/s, sent ${throughput.sentPerS.toFixed(1)} req/s, ` +
      `answered ${throughput.answeredPerS.toFixed(1)} req/s; session turns ${throughput.sessionTurnsPerS.toFixed(1)}/s ` +
      `(last answer ${(throughput.elapsedMs / 1000).toFixed(1)} s after the start)`,
  );
  const all = result.all;
  lines.push(
    `Requests: ${all.sent} sent = ${all.answered} answered + ${all.errors} errors + ${all.timeouts} client timeouts` +
      ` (driver lag: max ${formatLatencyMs(result.dispatch.maxLagMs)} ms)`,
  );
  lines.push('');
  lines.push(
    formatTable(
      ['latency ms (answered; lag: all)', 'count', 'p50', 'p90', 'p99', 'p99.9', 'max'],
      [
        latencyRow('e2e, stateless', stateless.latency.e2e),
        latencyRow('scheduler hop', stateless.latency.schedulerHop),
        latencyRow('client TTFT', stateless.latency.clientTtft),
        latencyRow('node TTFT', stateless.latency.nodeTtft),
        latencyRow('e2e, session turns', sessions.latency.e2e),
        latencyRow('client TTFT, turns', sessions.latency.clientTtft),
        latencyRow('send lag, stateless', stateless.latency.sendLag),
        latencyRow('send lag, turns', sessions.latency.sendLag),
      ],
    ),
  );
  lines.push('');
  lines.push(
    formatTable(
      ['class', 'sent', 'answered', 'errors', 'timeouts', 'e2e p50 ms', 'e2e p99 ms', 'client TTFT p99 ms'],
      LOAD_CLASSES.map((loadClass) => {
        const summary = result.byClass[loadClass];
        if (summary === undefined) return [loadClass, 0, 0, 0, 0, '–', '–', '–'];
        const { counts, latency } = summary;
        return [
          loadClass,
          counts.sent,
          counts.answered,
          counts.errors,
          counts.timeouts,
          formatLatencyMs(latency.e2e.p50Ms),
          formatLatencyMs(latency.e2e.p99Ms),
          formatLatencyMs(latency.clientTtft.p99Ms),
        ];
      }),
    ),
  );
  const codes = new Map<string, number>();
  for (const summary of [stateless, sessions])
    for (const [code, n] of Object.entries(summary.errorsByCode)) codes.set(code, (codes.get(code) ?? 0) + n);
  lines.push('');
  lines.push(
    codes.size === 0
      ? 'Errors: none'
      : formatTable(
          ['error code', 'requests'],
          [...codes.entries()].sort(([a], [b]) => a.localeCompare(b)),
        ),
  );
  const power = result.power;
  lines.push('');
  lines.push(
    Number.isNaN(power.meanFleetWatts)
      ? `Power: no fleet status answered (${power.failedPolls} polls failed)`
      : `Power: mean fleet draw ${Math.round(power.meanFleetWatts)} W (peak ${Math.round(power.peakFleetWatts)} W) over ${power.samples} status samples while load was offered`,
  );
  return lines.join('\n');
}

/** The human report of a rate search: one row per trial and the verdict. */
export function renderLoadSearch(result: LoadSearchResult): string {
  const { search } = result;
  const rows = search.trials.map((trial) => [
    trial.ratePerS,
    formatLatencyMs(trial.p99Ms),
    `${(100 * trial.failureShare).toFixed(1)}%`,
    trial.held ? 'held' : `broke: ${trial.reason ?? ''}`,
  ]);
  const verdict =
    search.maxSustainableRatePerS === undefined
      ? `no rate held ${result.gate} p99 ≤ ${search.p99TargetMs} ms`
      : `max sustainable rate: ${search.maxSustainableRatePerS} req/s (${result.gate} p99 ≤ ${search.p99TargetMs} ms, ` +
        `≤ ${(100 * search.maxFailureShare).toFixed(1)}% errors or timeouts)` +
        (search.brokeAtRatePerS === undefined
          ? ', the highest rate tried'
          : `; broke at ${search.brokeAtRatePerS} req/s`);
  return [formatTable(['rate req/s', `${result.gate} p99 ms`, 'failed', 'verdict'], rows), verdict].join('\n');
}
