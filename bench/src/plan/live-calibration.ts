/**
 * How far the simulator is from the live system: one small scenario run live (nats-server, the
 * scheduler and simulated-accelerator agents as real processes, real timers, an open-loop client)
 * and the same requests (the same seeded timeline: times, sizes, classes, models) simulated on the
 * same fleet. The error covers what the simulator leaves out (NATS hops, the scheduler's own time,
 * timer jitter, heartbeat staleness in wall time) plus any drift between the two.
 *
 * TTFT is compared as the client sees it (live: its latency less the node's decode time; simulated:
 * arrival to first token), so the scheduler hop the simulator does not model is in the error.
 * Power is the mean fleet draw over the load window (live: the scheduler's view from heartbeats).
 */
import { percentile, sortedCopy } from '../report/percentiles.js';
import { defaultMix } from '../e2e/load/load-mix.js';
import { runLoadScenario } from '../e2e/load/run-load.js';
import { loadFleetGroups } from '../e2e/load/load-fleet.js';
import { planArrivals } from '../e2e/load/timeline.js';
import { simulate } from '../sim/simulator.js';
import type { CalibrationSummary } from './plan-report.js';

export interface LiveCalibrationOptions {
  /** Path of the built CLI (cli/dist/main.js) that runs the live processes. */
  readonly cliEntry: string;
  readonly logDir: string;
  readonly ratePerS?: number;
  readonly durationMs?: number;
  readonly agents?: number;
  readonly seed?: number;
  readonly onProgress?: (line: string) => void;
}

function relative(simulated: number, live: number): number {
  return (simulated - live) / live;
}

export async function calibrateAgainstLive(options: LiveCalibrationOptions): Promise<CalibrationSummary> {
  const ratePerS = options.ratePerS ?? 6;
  const durationMs = options.durationMs ?? 20_000;
  const agents = options.agents ?? 2;
  const seed = options.seed ?? 1;
  const mix = defaultMix();
  const fleetOptions = { cliEntry: options.cliEntry, agents, models: mix.models.map((m) => m.name), seed };
  const live = await runLoadScenario({
    ...fleetOptions,
    logDir: options.logDir,
    mix,
    ratePerS,
    durationMs,
    sessions: 0,
    thinkMeanMs: 1_000,
    clientTimeoutMs: 60_000,
    warmupMs: 2_000,
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  const liveTtft = sortedCopy(
    live.outcomes.filter((o) => o.kind === 'answered' && o.clientTtftMs !== undefined).map((o) => o.clientTtftMs!),
  );

  const groups = loadFleetGroups({ ...fleetOptions, logDir: options.logDir });
  const requests = planArrivals({ ratePerS, durationMs, seed, mix }).map((planned) => ({
    arrivalMs: planned.atMs,
    model: planned.model,
    inputTokens: planned.inputTokens,
    outputTokens: planned.maxOutputTokens,
    sloClass: planned.sloClass,
  }));
  const simulated = simulate({
    topology: { clusters: [], regions: [] },
    groups: groups.map((g) => ({
      cluster: g.cluster,
      profile: g.profile,
      count: g.nodes,
      chips: g.chips,
      models: g.models,
    })),
    requests,
    seed,
  });
  const simTtft = sortedCopy(simulated.outcomes.filter((o) => o.refused === undefined).map((o) => o.ttftMs));
  // Mean fleet draw over the load window: the buckets that lie inside [0, durationMs].
  const { bucketMs, clusters } = simulated.series;
  const buckets = Math.max(1, Math.min(Math.floor(durationMs / bucketMs), clusters[0]?.powerWatts.length ?? 1));
  let simWatts = 0;
  for (const cluster of clusters) for (let b = 0; b < buckets; b++) simWatts += cluster.powerWatts[b] ?? 0;
  simWatts /= buckets;

  const liveFigures = {
    ttftP50Ms: percentile(liveTtft, 50),
    ttftP99Ms: percentile(liveTtft, 99),
    meanPowerWatts: live.power.meanFleetWatts,
  };
  const simFigures = {
    ttftP50Ms: percentile(simTtft, 50),
    ttftP99Ms: percentile(simTtft, 99),
    meanPowerWatts: simWatts,
  };
  return {
    scenario:
      `${requests.length} requests (Poisson ${ratePerS} req/s for ${durationMs / 1000} s, ${mix.sizesSource}) on ` +
      `${agents * (groups[0]?.nodes ?? 0)} × ${groups[0]?.chips ?? 0}-chip ${groups[0]?.profile ?? ''} nodes; ` +
      `live: ${live.stateless.counts.answered} answered, ${live.all.errors} errors, ${live.all.timeouts} timeouts; ` +
      'TTFT as the client sees it',
    live: liveFigures,
    simulated: simFigures,
    relativeError: {
      ttftP50: relative(simFigures.ttftP50Ms, liveFigures.ttftP50Ms),
      ttftP99: relative(simFigures.ttftP99Ms, liveFigures.ttftP99Ms),
      meanPower: relative(simFigures.meanPowerWatts, liveFigures.meanPowerWatts),
    },
  };
}
