/**
 * What the demo shows of the operator endpoints: where each process serves /metrics and the fleet
 * page (read from its "http listening" log line), and, at the end, figures scraped from them the
 * way Prometheus would.
 */
import type { ManagedProcess } from '@switchyard/test-kit';
import { formatTable } from '../report/table.js';

/** The port a process logged as its operator HTTP endpoint, if it did. */
export function httpPortOf(process: ManagedProcess): number | undefined {
  for (const line of process.output().split('\n')) {
    if (!line.includes('"msg":"http listening"')) continue;
    try {
      const port: unknown = (JSON.parse(line) as { port?: unknown }).port;
      if (typeof port === 'number') return port;
    } catch {
      // Not a JSON log line: keep looking.
    }
  }
  return undefined;
}

/** One sample of the exposition format: name, labels, value. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses the samples of a Prometheus text exposition (comments skipped). */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Scrapes /metrics of every port; unreachable ones (a killed process) are skipped. */
export async function scrapeAll(ports: readonly number[]): Promise<Sample[]> {
  const texts = await Promise.all(
    ports.map((port) =>
      fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) })
        .then((r) => r.text())
        .catch(() => ''),
    ),
  );
  return texts.flatMap(parseExposition);
}

function sum(samples: readonly Sample[], name: string, match: Readonly<Record<string, string>> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}

/**
 * The upper bound of the histogram bucket holding quantile `q` of `name` (matching `match`):
 * what Prometheus's histogram_quantile would interpolate within, undefined when empty.
 */
export function bucketQuantile(
  samples: readonly Sample[],
  name: string,
  q: number,
  match: Readonly<Record<string, string>>,
): number | undefined {
  const buckets = samples
    .filter((s) => s.name === `${name}_bucket` && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .map((s) => ({ le: Number(s.labels['le'] === '+Inf' ? Number.POSITIVE_INFINITY : s.labels['le']), count: s.value }))
    .sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return undefined;
  return buckets.find((b) => b.count >= q * total)?.le;
}

function microseconds(seconds: number | undefined): string {
  if (seconds === undefined) return '—';
  return Number.isFinite(seconds) ? `≤ ${Math.round(seconds * 1e6)} µs` : '> largest bucket';
}

/** The demo's metrics section: placements and SLO attainment per class as the exported metrics count them. */
export function renderMetrics(scheduler: readonly Sample[], agents: readonly Sample[]): string {
  const rows = ['interactive', 'standard', 'batch'].map((sloClass) => {
    const met = sum(agents, 'switchyard_node_slo_total', { slo_class: sloClass, result: 'met' });
    const missed = sum(agents, 'switchyard_node_slo_total', { slo_class: sloClass, result: 'missed' });
    const decision = (q: number): string =>
      microseconds(bucketQuantile(scheduler, 'switchyard_placement_duration_seconds', q, { slo_class: sloClass }));
    return [
      sloClass,
      sum(scheduler, 'switchyard_placements_total', { slo_class: sloClass, outcome: 'placed' }),
      decision(0.5),
      decision(0.99),
      met + missed > 0 ? `${((100 * met) / (met + missed)).toFixed(1)}%` : '—',
    ];
  });
  const joules = sum(agents, 'switchyard_node_energy_joules_total');
  const tokens = sum(agents, 'switchyard_node_tokens_total', { kind: 'output' });
  return [
    'Metrics, as Prometheus would scrape them (the leading scheduler and the surviving agents):',
    formatTable(['SLO class', 'placed', 'decision p50', 'decision p99', 'SLO met at the node'], rows),
    `Energy: ${(joules / 1000).toFixed(1)} kJ for ${tokens} output tokens (${tokens > 0 ? (joules / tokens).toFixed(2) : '—'} J/token); ` +
      `heartbeats applied ${sum(scheduler, 'switchyard_heartbeats_total', { outcome: 'applied' })}`,
  ].join('\n');
}
