/**
 * Placement decision latency over fleets of 1k / 10k / 50k nodes with the default pipeline, the plain
 * exhaustive scan DESIGN.md compares against, a breakdown of where a decision's time goes, and a
 * brute-force check that the framework's pick is a best-scoring node.
 */
import { createRng } from '@switchyard/fleet-model';
import {
  DEFAULT_PLACEMENT_CONFIG,
  buildPlacement,
  estimateOn,
  type PlacementConfig,
  type PlacementContext,
  type PlacementRequest,
} from '@switchyard/scheduler';
import { plainScanMinTtft, verifyPicks } from './exhaustive-scan.js';
import { buildFleetFixture, type FleetFixture } from './fleet-fixture.js';
import { buildRequestMix } from './request-mix.js';
import { selected, shortCount, type MicroCase, type SuiteOptions, type SuitePlan, type Target } from './runner.js';

export const PLACEMENT_SUITE = 'placement';
export const DEFAULT_PLACEMENT_NODE_COUNTS: readonly number[] = [1_000, 10_000, 50_000];

/** Requests cycled through by every placement case (a power of two, so the index is a mask). */
const REQUEST_POOL = 4096;

function targetFor(nodes: number): Target | undefined {
  if (nodes === 10_000) return { p99Us: 20, minOpsPerSec: 100_000, label: 'DESIGN: p99 ≤ 20 µs, ≥ 100k/s @10k' };
  if (nodes === 50_000) return { p99Us: 30, label: 'DESIGN: p99 ≤ 30 µs @50k' };
  return undefined;
}

/** A function that cycles through `requests`, so consecutive calls see different models and sizes. */
function cycling(requests: readonly PlacementRequest[]): () => PlacementRequest {
  const mask = requests.length - 1;
  if ((requests.length & mask) !== 0) throw new RangeError('request pool size must be a power of two');
  let i = 0;
  return () => requests[i++ & mask]!;
}

/** Pipelines that each leave out part of the default one, to see what each part costs. */
const ABLATIONS: readonly { readonly name: string; readonly config: PlacementConfig }[] = [
  {
    // model-supported stays: the framework estimates the picked node, which must be able to run the model.
    name: 'framework loop (schedulable + model-supported filters, batch-headroom scorer)',
    config: {
      filters: ['schedulable', 'model-supported'],
      scorers: [{ name: 'batch-headroom', weight: 1 }],
      picker: 'max-score',
    },
  },
  {
    name: 'default filters, batch-headroom scorer (no estimate)',
    config: { ...DEFAULT_PLACEMENT_CONFIG, scorers: [{ name: 'batch-headroom', weight: 1 }] },
  },
];

/** A case before its fleet exists: named up front so that --filter can skip building fleets. */
interface PlacementCaseSpec {
  readonly suite: string;
  readonly name: string;
  readonly target?: Target;
  make(fixture: FleetFixture, requests: readonly PlacementRequest[], context: PlacementContext): () => unknown;
}

function placementCaseSpecs(nodes: number, withReferences: boolean): PlacementCaseSpec[] {
  const at = `@ ${shortCount(nodes)} nodes`;
  const target = targetFor(nodes);
  const specs: PlacementCaseSpec[] = [
    {
      suite: PLACEMENT_SUITE,
      name: `place() default pipeline ${at}`,
      ...(target === undefined ? {} : { target }),
      make(fixture, requests, context) {
        const framework = buildPlacement(DEFAULT_PLACEMENT_CONFIG);
        const next = cycling(requests);
        return () => framework.place(next(), fixture.fleet, context);
      },
    },
    {
      suite: PLACEMENT_SUITE,
      name: `scan() default pipeline, every node (explain/diagnostics path) ${at}`,
      make(fixture, requests, context) {
        const framework = buildPlacement(DEFAULT_PLACEMENT_CONFIG);
        const next = cycling(requests);
        return () => framework.scan(next(), fixture.fleet, context);
      },
    },
  ];
  if (!withReferences) return specs;
  specs.push({
    suite: PLACEMENT_SUITE,
    name: `plain exhaustive scan, min TTFT ${at}`,
    target: { label: 'DESIGN: plain scan ~120 µs p50 @10k (reference)' },
    make(fixture, requests) {
      const next = cycling(requests);
      return () => plainScanMinTtft(fixture.fleet.nodes, next());
    },
  });
  for (const ablation of ABLATIONS) {
    specs.push({
      suite: 'placement-breakdown',
      name: `${ablation.name} ${at}`,
      make(fixture, requests, context) {
        const partial = buildPlacement(ablation.config);
        const next = cycling(requests);
        return () => partial.place(next(), fixture.fleet, context);
      },
    });
  }
  specs.push({
    suite: 'placement-breakdown',
    name: `estimateOn() on every node with the model loaded, bare loop ${at}`,
    make(fixture, requests) {
      const next = cycling(requests);
      const all = fixture.fleet.nodes;
      return () => {
        const request = next();
        let sum = 0;
        for (let i = 0; i < all.length; i++) {
          const node = all[i]!;
          if (node.loadedModels.has(request.model.name)) sum += estimateOn(node, request).ttftMs;
        }
        return sum;
      };
    },
  });
  return specs;
}

/** The placement suite: fixtures, verification and cases. Builds only the fleets a selected case needs. */
export function planPlacementSuite(options: SuiteOptions): SuitePlan {
  const counts = options.nodeCounts ?? DEFAULT_PLACEMENT_NODE_COUNTS;
  const referenceCount = counts.includes(10_000) ? 10_000 : (counts[Math.floor(counts.length / 2)] ?? 0);
  const requests = buildRequestMix(REQUEST_POOL, options.seed + 1);
  const verifyBase = options.verifySamples ?? 200;
  const cases: MicroCase[] = [];
  const checks: Record<string, number | string> = {};
  let mismatches = 0;

  for (const nodes of counts) {
    const specs = placementCaseSpecs(nodes, nodes === referenceCount).filter((spec) =>
      selected(options, spec.suite, spec.name),
    );
    if (specs.length === 0) continue; // --filter selected nothing at this size: do not build the fleet
    const started = performance.now();
    const fixture = buildFleetFixture({ nodes, seed: options.seed });
    options.log?.(
      `placement: built ${shortCount(nodes)}-node fleet in ${Math.round(performance.now() - started)} ms ` +
        `(${JSON.stringify(fixture.stats.byProfile)}, cordoned ${fixture.stats.cordoned}, suspect ${fixture.stats.suspect}, ` +
        `draining ${fixture.stats.draining}, queued ${fixture.stats.saturated}, open reservations ${fixture.stats.reservations})`,
    );
    const sample = Math.max(20, Math.round(verifyBase * Math.min(1, 10_000 / nodes)));
    const verification = verifyPicks(
      buildPlacement(DEFAULT_PLACEMENT_CONFIG),
      fixture.fleet.nodes,
      requests.slice(0, sample),
      {
        nowMs: fixture.nowMs,
        rng: createRng(options.seed),
      },
    );
    const key = shortCount(nodes);
    mismatches += verification.mismatches;
    checks[`mismatches@${key}`] = verification.mismatches;
    checks[`verified@${key}`] = verification.checked;
    checks[`rejected@${key}`] = verification.rejected;
    checks[`tied@${key}`] = verification.tied;
    checks[`meanSurvivors@${key}`] = Math.round(verification.meanSurvivors);
    checks[`minTtftPickPct@${key}`] = Math.round(verification.minTtftShare * 1000) / 10;
    for (const example of verification.examples) options.log?.(`placement: MISMATCH ${example}`);
    const context: PlacementContext = { nowMs: fixture.nowMs, rng: createRng(options.seed) };
    for (const spec of specs) {
      const fn = spec.make(fixture, requests, context);
      const base = { suite: spec.suite, name: spec.name, opsPerCall: 1, fn };
      cases.push(spec.target === undefined ? base : { ...base, target: spec.target });
    }
  }
  checks['mismatches'] = mismatches;
  return { suite: PLACEMENT_SUITE, cases, checks };
}
