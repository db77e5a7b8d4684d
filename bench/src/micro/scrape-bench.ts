/**
 * `node bench/dist/micro/scrape-bench.js [--nodes 1000] [--sessions 100000] [--scrapes 30]`
 *
 * How big and how slow a scheduler's /metrics scrape is with many nodes and sessions (issue 5's
 * figure: 1,000 nodes and 100,000 sessions): builds the fleet fixture and a session registry of that
 * size, scrapes the real SchedulerMetrics registry repeatedly, and prints bytes, series and p50/p99
 * time; the label cardinality must not grow with nodes or sessions.
 */
import { parseArgs } from 'node:util';
import { Counters, SchedulerMetrics } from '@switchyard/scheduler';
import { buildFleetFixture } from './fleet-fixture.js';
import { sessionRegistryOf } from './session-fixture.js';

/** Scrapes `scrapes` times; returns the last text's size and the per-scrape times (ms). */
export async function measureScrape(
  nodes: number,
  sessionCount: number,
  scrapes: number,
): Promise<{ bytes: number; series: number; timesMs: number[] }> {
  const fixture = buildFleetFixture({ nodes, seed: 1 });
  // One in a hundred between owners, as after a node loss.
  const registry = sessionRegistryOf(
    sessionCount,
    fixture.fleet.nodes.map((n) => n.nodeId),
    100,
  );
  const counters = new Counters();
  counters.increment('requests.admitted.interactive', 1_000);
  counters.increment('heartbeats.applied', 50_000);
  counters.observe('placement.decision.interactive', 15e-6);
  const metrics = new SchedulerMetrics({
    counters,
    fleet: () => fixture.fleet,
    sessions: () => registry,
    queues: () => undefined,
    isLeader: () => true,
    natsConnected: () => true,
  });
  const timesMs: number[] = [];
  let text = '';
  for (let i = 0; i < scrapes + 3; i++) {
    const started = performance.now();
    text = await metrics.text();
    if (i >= 3) timesMs.push(performance.now() - started); // the first scrapes warm the JIT up
  }
  const series = text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
  return { bytes: Buffer.byteLength(text), series, timesMs };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '1000' },
      sessions: { type: 'string', default: '100000' },
      scrapes: { type: 'string', default: '30' },
    },
  });
  const nodes = Number(values.nodes);
  const sessionCount = Number(values.sessions);
  const scrapes = Number(values.scrapes);
  const { bytes, series, timesMs } = await measureScrape(nodes, sessionCount, scrapes);
  const small = await measureScrape(10, 10, 3);
  const sorted = [...timesMs].sort((a, b) => a - b);
  console.log(
    `scrape of a scheduler with ${nodes} nodes and ${sessionCount} sessions: ${bytes} bytes, ${series} series ` +
      `(with 10 nodes and 10 sessions: ${small.series} series); p50 ${percentile(sorted, 0.5).toFixed(2)} ms, ` +
      `p99 ${percentile(sorted, 0.99).toFixed(2)} ms over ${scrapes} scrapes`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
