/**
 * What metrics cost on the decision path: a placement decision with and without the scheduler's
 * metrics (the timed framework, with a SchedulerMetrics registry listening to its observations), run
 * one after the other in the same process. The scrape itself is async and timed by scrape-bench.ts.
 */
import { createRng } from '@switchyard/fleet-model';
import {
  buildPlacement,
  Counters,
  DEFAULT_PLACEMENT_CONFIG,
  SchedulerMetrics,
  SessionRegistry,
  TimedPlacementFramework,
} from '@switchyard/scheduler';
import { buildFleetFixture } from './fleet-fixture.js';
import { buildRequestMix } from './request-mix.js';
import { selected, shortCount, type MicroCase, type SuiteOptions, type SuitePlan } from './runner.js';

export const METRICS_SUITE = 'metrics';

/** Fleet size of the decision comparison. */
export const DEFAULT_METRICS_NODES = 10_000;

export function planMetricsSuite(options: SuiteOptions): SuitePlan {
  const nodes = options.nodeCounts?.[0] ?? DEFAULT_METRICS_NODES;
  const cases: MicroCase[] = [];
  const checks: Record<string, number | string> = {};
  const at = `@ ${shortCount(nodes)} nodes`;
  const names = {
    bare: `place() default pipeline, no metrics ${at}`,
    timed: `place() default pipeline, with metrics (timed, observed into histograms) ${at}`,
  };
  if (selected(options, METRICS_SUITE, names.bare) || selected(options, METRICS_SUITE, names.timed)) {
    const fixture = buildFleetFixture({ nodes: nodes, seed: options.seed });
    const requests = buildRequestMix(4096, options.seed + 1);
    const context = { nowMs: fixture.nowMs, rng: createRng(options.seed) };
    const bare = buildPlacement(DEFAULT_PLACEMENT_CONFIG);
    const counters = new Counters();
    const timed = new TimedPlacementFramework(buildPlacement(DEFAULT_PLACEMENT_CONFIG), counters);
    // The registry listens to the framework's observations, as in the scheduler.
    const registry = new SchedulerMetrics({
      counters,
      fleet: () => fixture.fleet,
      sessions: () => new SessionRegistry(),
      queues: () => undefined,
      isLeader: () => true,
      natsConnected: () => true,
    });
    checks['metricsRegistered'] = registry.registry.getMetricsAsArray().length;
    let i = 0;
    let j = 0;
    const both: MicroCase[] = [
      {
        suite: METRICS_SUITE,
        name: names.bare,
        opsPerCall: 1,
        fn: () => bare.place(requests[i++ & 4095]!, fixture.fleet, context),
      },
      {
        suite: METRICS_SUITE,
        name: names.timed,
        opsPerCall: 1,
        fn: () => timed.place(requests[j++ & 4095]!, fixture.fleet, context),
      },
    ];
    cases.push(...both.filter((c) => selected(options, c.suite, c.name)));
  }
  return { suite: METRICS_SUITE, cases, checks };
}
