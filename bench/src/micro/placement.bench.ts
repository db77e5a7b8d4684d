/**
 * Placement decision latency over fleets of 1k / 10k / 50k nodes with the default pipeline (searched
 * through the fleet's placement index), the same pipeline's full scan, the plain exhaustive scan
 * DESIGN.md compares against, a breakdown of where a decision's time goes (by SLO class, and with
 * parts of the pipeline left out), and a brute-force check of every verified pick: how often it
 * scores below the best node of an exhaustive scan, and by how much.
 */
import { createRng } from '@switchyard/fleet-model';
import type { SloClass } from '@switchyard/protocol';
import {
  DEFAULT_PLACEMENT_CONFIG,
  buildPlacement,
  estimateOn,
  type PlacementConfig,
  type PlacementContext,
  type PlacementRequest,
} from '@switchyard/scheduler';
import { plainScanMinTtft, plainScanOneScore, verifyPicks } from './exhaustive-scan.js';
import { PLAIN_SCAN_CASE } from './calibration.js';
import { buildFleetFixture, type FleetFixture } from './fleet-fixture.js';
import { buildRequestMix } from './request-mix.js';
import { selected, shortCount, type MicroCase, type SuiteOptions, type SuitePlan, type Target } from './runner.js';

export const PLACEMENT_SUITE = 'placement';
export const DEFAULT_PLACEMENT_NODE_COUNTS: readonly number[] = [1_000, 10_000, 50_000];

/** Requests cycled through by every placement case (a power of two, so the index is a mask). */
const REQUEST_POOL = 4096;
/** Requests of one SLO class cycled through by the per-class cases (a power of two). */
const CLASS_POOL = 512;
const SLO_CLASSES: readonly SloClass[] = ['interactive', 'standard', 'batch'];

function targetFor(nodes: number): Target | undefined {
  if (nodes === 10_000) return { p99Us: 20, minOpsPerSec: 100_000, label: 'DESIGN: p99 ≤ 20 µs, ≥ 100k/s @10k' };
  if (nodes === 50_000) return { p99Us: 30, label: 'DESIGN: p99 ≤ 30 µs @50k' };
  return undefined;
}

function percent(part: number, whole: number): number {
  return whole > 0 ? Math.round((1000 * part) / whole) / 10 : 0;
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
  make(fixture: FleetFixture, requests: RequestPools, context: PlacementContext): () => unknown;
}

/** The mixed request pool and one pool per SLO class. */
interface RequestPools {
  readonly mixed: readonly PlacementRequest[];
  readonly byClass: Readonly<Record<SloClass, readonly PlacementRequest[]>>;
}

function requestPools(seed: number): RequestPools {
  const mixed = buildRequestMix(REQUEST_POOL, seed);
  // The class pools come from a longer mix of the same shape (batch is a tenth of it).
  const longer = buildRequestMix(REQUEST_POOL * 4, seed + 101);
  const byClass = Object.fromEntries(
    SLO_CLASSES.map((sloClass) => {
      const pool = longer.filter((r) => r.sloClass === sloClass).slice(0, CLASS_POOL);
      if (pool.length < CLASS_POOL)
        throw new RangeError(`request mix has fewer than ${CLASS_POOL} ${sloClass} requests`);
      return [sloClass, pool];
    }),
  ) as Record<SloClass, PlacementRequest[]>;
  return { mixed, byClass };
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
        const next = cycling(requests.mixed);
        return () => framework.place(next(), fixture.fleet, context);
      },
    },
    {
      suite: PLACEMENT_SUITE,
      name: `scan() default pipeline, every node (explain/diagnostics path) ${at}`,
      make(fixture, requests, context) {
        const framework = buildPlacement(DEFAULT_PLACEMENT_CONFIG);
        const next = cycling(requests.mixed);
        return () => framework.scan(next(), fixture.fleet, context);
      },
    },
  ];
  if (!withReferences) return specs;
  specs.push({
    suite: PLACEMENT_SUITE,
    name: `${PLAIN_SCAN_CASE} ${at}`,
    target: { label: 'issue 4: ~120 µs p50 @10k on the reference machine (calibrates the targets)' },
    make(fixture, requests) {
      const next = cycling(requests.mixed);
      return () => plainScanOneScore(fixture.fleet.nodes, next());
    },
  });
  specs.push({
    suite: PLACEMENT_SUITE,
    name: `plain exhaustive scan, min TTFT ${at}`,
    target: { label: 'DESIGN: plain scan ~120 µs p50 @10k (reference)' },
    make(fixture, requests) {
      const next = cycling(requests.mixed);
      return () => plainScanMinTtft(fixture.fleet.nodes, next());
    },
  });
  for (const sloClass of SLO_CLASSES) {
    specs.push({
      suite: 'placement-breakdown',
      name: `place() default pipeline, ${sloClass} requests only ${at}`,
      make(fixture, requests, context) {
        const framework = buildPlacement(DEFAULT_PLACEMENT_CONFIG);
        const next = cycling(requests.byClass[sloClass]);
        return () => framework.place(next(), fixture.fleet, context);
      },
    });
  }
  for (const ablation of ABLATIONS) {
    specs.push({
      suite: 'placement-breakdown',
      name: `${ablation.name} ${at}`,
      make(fixture, requests, context) {
        const partial = buildPlacement(ablation.config);
        const next = cycling(requests.mixed);
        return () => partial.place(next(), fixture.fleet, context);
      },
    });
  }
  specs.push({
    suite: 'placement-breakdown',
    name: `estimateOn() on every node with the model loaded, bare loop ${at}`,
    make(fixture, requests) {
      const next = cycling(requests.mixed);
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
  const requests = requestPools(options.seed + 1);
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
    const { stats } = fixture;
    const index = fixture.fleet.index;
    options.log?.(
      `placement: built ${shortCount(nodes)}-node fleet in ${Math.round(performance.now() - started)} ms ` +
        `(${JSON.stringify(stats.byProfile)}, cordoned ${stats.cordoned}, suspect ${stats.suspect}, ` +
        `draining ${stats.draining}, queued ${stats.saturated}, open reservations ${stats.reservations}, ` +
        `power-capped ${stats.capped}; stages ${JSON.stringify(stats.stages)}; index: ${index?.families.size ?? 0} families, ` +
        `${index?.shapeList.length ?? 0} shapes)`,
    );
    const sample = Math.max(20, Math.round(verifyBase * Math.min(1, 10_000 / nodes)));
    const verification = verifyPicks(
      buildPlacement(DEFAULT_PLACEMENT_CONFIG),
      fixture.fleet,
      requests.mixed.slice(0, sample),
      {
        nowMs: fixture.nowMs,
        rng: createRng(options.seed),
      },
    );
    const key = shortCount(nodes);
    mismatches += verification.mismatches;
    checks[`mismatches@${key}`] = verification.mismatches;
    checks[`verified@${key}`] = verification.checked;
    checks[`pickDiffersPct@${key}`] = percent(verification.pickDiffers, verification.checked - verification.rejected);
    checks[`meanScoreGap@${key}`] = verification.meanScoreGap;
    checks[`maxScoreGap@${key}`] = verification.maxScoreGap;
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
