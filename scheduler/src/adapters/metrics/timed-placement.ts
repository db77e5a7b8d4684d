import { PlacementFramework, type WeightedScorer } from '../../core/placement/framework.js';
import type {
  Candidate,
  Filter,
  PlacementContext,
  PlacementDecision,
  PlacementRequest,
  PlacementSnapshot,
} from '../../core/placement/types.js';
import type { Counters } from '../../service/ports.js';

/** How often at most a decision is re-run as a full, per-plugin timed scan (it costs a scan). */
const PLUGIN_SAMPLE_INTERVAL_MS = 5_000;

/** Names of the placed-decision counters per SLO class, built once (failures build theirs). */
const PLACED_COUNTER = {
  interactive: 'placements.by-class.interactive.placed',
  standard: 'placements.by-class.standard.placed',
  batch: 'placements.by-class.batch.placed',
} as const;

/** Names of the decision-time observations per SLO class, built once. */
const DECISION_OBSERVATION = {
  interactive: 'placement.decision.interactive',
  standard: 'placement.decision.standard',
  batch: 'placement.decision.batch',
} as const;

/**
 * The placement framework with its decisions timed and counted for metrics: every `place()` is
 * observed as `placement.decision.<class>` (seconds) and counted as
 * `placements.by-class.<class>.<placed | code>`; and at most every 5 s one decision is re-run as a
 * full scan through plugins that time themselves, observed as `placement.plugin.<filter|scorer>.<name>`
 * (the plugin's time over every node). The decisions themselves are the framework's, unchanged.
 */
export class TimedPlacementFramework extends PlacementFramework {
  private readonly timed: PlacementFramework;
  private readonly spentMs = new Map<string, number>();
  private nextSampleMs = 0;

  constructor(
    base: PlacementFramework,
    private readonly counters: Counters,
    private readonly clock: () => number = Date.now,
  ) {
    super(base.filters, base.scorers, base.picker);
    const time = <A extends unknown[], R>(key: string, fn: (...args: A) => R) => {
      this.spentMs.set(key, 0);
      return (...args: A): R => {
        const started = performance.now();
        try {
          return fn(...args);
        } finally {
          this.spentMs.set(key, this.spentMs.get(key)! + performance.now() - started);
        }
      };
    };
    const filters: Filter[] = base.filters.map((filter) => ({
      ...filter,
      admits: time(`filter.${filter.name}`, (request: PlacementRequest, candidate: Candidate) =>
        filter.admits(request, candidate),
      ),
    }));
    const scorers: WeightedScorer[] = base.scorers.map(({ scorer, weight }) => ({
      weight,
      scorer: {
        ...scorer,
        score: time(`scorer.${scorer.name}`, (request: PlacementRequest, candidate: Candidate) =>
          scorer.score(request, candidate),
        ),
      },
    }));
    this.timed = new PlacementFramework(filters, scorers, base.picker);
  }

  override place(request: PlacementRequest, snapshot: PlacementSnapshot, context: PlacementContext): PlacementDecision {
    const started = performance.now();
    const decision = super.place(request, snapshot, context);
    this.counters.observe(DECISION_OBSERVATION[request.sloClass], (performance.now() - started) / 1000);
    this.counters.increment(
      decision.ok ? PLACED_COUNTER[request.sloClass] : `placements.by-class.${request.sloClass}.${decision.code}`,
    );
    if (context.explain !== true && this.clock() >= this.nextSampleMs) {
      this.nextSampleMs = this.clock() + PLUGIN_SAMPLE_INTERVAL_MS;
      this.samplePlugins(request, snapshot, context);
    }
    return decision;
  }

  private samplePlugins(request: PlacementRequest, snapshot: PlacementSnapshot, context: PlacementContext): void {
    for (const key of this.spentMs.keys()) this.spentMs.set(key, 0);
    this.timed.scan(request, snapshot, context);
    for (const [key, ms] of this.spentMs) this.counters.observe(`placement.plugin.${key}`, ms / 1000);
  }
}
