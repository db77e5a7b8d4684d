import type { NodeRecord } from '../fleet/node-record.js';
import { BoundedSearch, type BoundedPipeline } from './bounded-search.js';
import { estimateOn } from './estimate.js';
import { type IndexedPipeline, searchIndex } from './indexed-search.js';
import type {
  Candidate,
  CandidateExplanation,
  Estimate,
  Filter,
  Picker,
  PlacementContext,
  PlacementDecision,
  PlacementRequest,
  PlacementSnapshot,
  Scorer,
} from './types.js';

/** A scorer with the weight it was configured with. */
export interface WeightedScorer {
  readonly scorer: Scorer;
  readonly weight: number;
}

/** Reused per node so that a decision over 10,000 nodes allocates nothing per node. */
class CandidateSlot implements Candidate {
  node!: NodeRecord;
  request!: PlacementRequest;
  private cached: Estimate | undefined;

  reset(node: NodeRecord, request: PlacementRequest): void {
    this.node = node;
    this.request = request;
    this.cached = undefined;
  }

  estimate(): Estimate {
    this.cached ??= estimateOn(this.node, this.request);
    return this.cached;
  }
}

function clamp01(value: number): number {
  if (!(value > 0)) return 0; // also maps NaN to 0
  return value > 1 ? 1 : value;
}

/**
 * Runs filters, weighted scorers and a picker over a snapshot. The framework, not the plugins,
 * clamps scores into [0, 1], applies weights and normalises by their sum, so one misbehaving
 * scorer cannot dominate the others.
 */
export class PlacementFramework {
  private readonly weightSum: number;
  private readonly slot = new CandidateSlot();
  /** Set when every filter declares its scope and every scorer is `indexable` (load-monotone search). */
  private readonly indexed: IndexedPipeline | undefined;
  /** Set when every filter declares its scope and every scorer is `estimateMonotone` (bounded search). */
  private readonly bounded: BoundedPipeline | undefined;
  private readonly boundedSearch = new BoundedSearch();

  constructor(
    readonly filters: readonly Filter[],
    readonly scorers: readonly WeightedScorer[],
    readonly picker: Picker,
  ) {
    this.weightSum = scorers.reduce((sum, s) => sum + s.weight, 0);
    const scoped = picker.name === 'max-score' && filters.every((f) => f.scope !== undefined);
    const pipeline: IndexedPipeline & BoundedPipeline = {
      familyFilters: filters.filter((f) => f.scope === 'family'),
      loadFilters: filters.filter((f) => f.scope === 'load'),
      nodeFilters: filters.filter((f) => f.scope === 'node'),
      memoryFilters: filters.filter((f) => f.minFreeHbmBytes !== undefined),
      score: (request, candidate) => this.weightedScore(request, candidate),
      focus: (node, request) => {
        this.slot.reset(node, request);
        return this.slot;
      },
    };
    // Load-monotone scorers keep the simpler search (it also spreads ties over every tied bucket).
    this.indexed = scoped && scorers.every((s) => s.scorer.indexable === true) ? pipeline : undefined;
    this.bounded =
      scoped && this.indexed === undefined && scorers.every((s) => s.scorer.estimateMonotone === true)
        ? pipeline
        : undefined;
  }

  /** Whether decisions over a snapshot with an index use it (all plugins declare their dependencies). */
  get usesIndex(): boolean {
    return this.indexed !== undefined || this.bounded !== undefined;
  }

  /**
   * Decides where `request` goes. Pure over (request, snapshot, context): reads, never writes.
   * With an index and plugins that declare how they may be bounded, searches the index (the same
   * best score as a full scan); otherwise, in explain mode, or when the index finds nothing (for
   * exact diagnostics), scans.
   */
  place(request: PlacementRequest, snapshot: PlacementSnapshot, context: PlacementContext): PlacementDecision {
    const index = snapshot.index;
    if (index !== undefined && context.explain !== true) {
      if (this.bounded !== undefined) {
        const found = this.boundedSearch.search(this.bounded, request, index, context);
        if (found !== undefined) {
          return {
            ok: true,
            node: found.node,
            score: found.score,
            estimate: found.estimate,
            candidates: snapshot.nodes.length,
          };
        }
      } else if (this.indexed !== undefined) {
        const found = searchIndex(this.indexed, request, index, context);
        if (found !== undefined) {
          this.slot.reset(found.node, request);
          return {
            ok: true,
            node: found.node,
            score: found.score,
            estimate: this.slot.estimate(),
            candidates: snapshot.nodes.length,
          };
        }
      }
    }
    return this.scan(request, snapshot, context);
  }

  /** Weighted, clamped, normalised score of one candidate. */
  private weightedScore(request: PlacementRequest, candidate: Candidate): number {
    let total = 0;
    for (let s = 0; s < this.scorers.length; s++) {
      const { scorer, weight } = this.scorers[s]!;
      total += clamp01(scorer.score(request, candidate)) * weight;
    }
    return this.weightSum > 0 ? total / this.weightSum : 0;
  }

  /** Evaluates every node: the reference semantics, used for explain mode and rejections. */
  scan(request: PlacementRequest, snapshot: PlacementSnapshot, context: PlacementContext): PlacementDecision {
    const { filters, scorers, slot } = this;
    const explain = context.explain === true;
    const explanation: CandidateExplanation[] | undefined = explain ? [] : undefined;
    const rejections = new Uint32Array(filters.length);
    const run = this.picker.begin(context);
    const nodes = snapshot.nodes;
    let survivors = 0;

    nodeLoop: for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i];
      if (node === undefined) continue;
      slot.reset(node, request);
      for (let f = 0; f < filters.length; f++) {
        if (!filters[f]!.admits(request, slot)) {
          rejections[f]!++;
          explanation?.push({ nodeId: node.nodeId, rejectedBy: filters[f]!.name });
          continue nodeLoop;
        }
      }
      survivors++;
      let total = 0;
      let scores: Record<string, number> | undefined;
      if (explain) scores = {};
      for (let s = 0; s < scorers.length; s++) {
        const { scorer, weight } = scorers[s]!;
        const value = clamp01(scorer.score(request, slot));
        total += value * weight;
        if (scores !== undefined) scores[scorer.name] = value;
      }
      const normalised = this.weightSum > 0 ? total / this.weightSum : 0;
      run.offer(node, normalised);
      if (explanation !== undefined && scores !== undefined) {
        explanation.push({ nodeId: node.nodeId, scores, total: normalised, estimate: slot.estimate() });
      }
    }

    const picked = run.picked();
    if (picked !== undefined) {
      slot.reset(picked.node, request);
      const estimate = slot.estimate();
      const decision: PlacementDecision = {
        ok: true,
        node: picked.node,
        score: picked.score,
        estimate,
        candidates: nodes.length,
      };
      return explanation === undefined ? decision : { ...decision, explanation };
    }
    return this.reject(request, nodes.length, survivors, rejections, explanation);
  }

  private reject(
    request: PlacementRequest,
    candidates: number,
    survivors: number,
    rejections: Uint32Array,
    explanation: CandidateExplanation[] | undefined,
  ): PlacementDecision {
    const rejectedBy: Record<string, number> = {};
    let onlyUnknownModel = candidates > 0;
    this.filters.forEach((filter, f) => {
      const count = rejections[f] ?? 0;
      if (count === 0) return;
      rejectedBy[filter.name] = count;
      if (filter.rejectionCode !== 'UNKNOWN_MODEL') onlyUnknownModel = false;
    });
    const detail = Object.entries(rejectedBy)
      .map(([name, count]) => `${count} rejected by ${name}`)
      .join(', ');
    const code = onlyUnknownModel && survivors === 0 ? 'UNKNOWN_MODEL' : 'NO_CAPACITY';
    const message =
      candidates === 0
        ? `no nodes are registered to serve ${request.model.name}`
        : code === 'UNKNOWN_MODEL'
          ? `no node in the fleet can serve model ${request.model.name} (${detail})`
          : `no node can take ${request.model.name} now: ${detail || 'picker chose none'}`;
    const decision: PlacementDecision = { ok: false, code, message, rejectedBy, candidates };
    return explanation === undefined ? decision : { ...decision, explanation };
  }
}
