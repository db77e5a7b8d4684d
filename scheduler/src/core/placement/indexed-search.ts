import type { NodeRecord } from '../fleet/node-record.js';
import type { LoadBucket, NodeFamily, PlacementIndex } from './placement-index.js';
import type { Candidate, Filter, PlacementContext, PlacementRequest } from './types.js';

/** Scores closer than this are ties (the same tolerance as the max-score picker). */
const TIE_EPSILON = 1e-9;

/** What the indexed search needs from the framework: filters split by scope and the weighted score. */
export interface IndexedPipeline {
  readonly familyFilters: readonly Filter[];
  readonly loadFilters: readonly Filter[];
  readonly nodeFilters: readonly Filter[];
  /** The framework's clamped, weighted, normalised score of the candidate. */
  score(request: PlacementRequest, candidate: Candidate): number;
  /** Points the reusable candidate at a node. */
  focus(node: NodeRecord, request: PlacementRequest): Candidate;
}

interface Tie {
  bucket: LoadBucket | undefined;
  node: NodeRecord | undefined;
  weight: number;
}

function passes(filters: readonly Filter[], request: PlacementRequest, candidate: Candidate): boolean {
  for (let f = 0; f < filters.length; f++) if (!filters[f]!.admits(request, candidate)) return false;
  return true;
}

/** A member of `bucket` passing the per-node filters, searched from a random start; undefined if none. */
function feasibleIn(
  bucket: LoadBucket,
  pipeline: IndexedPipeline,
  request: PlacementRequest,
  rng: () => number,
): NodeRecord | undefined {
  const nodes = bucket.nodes;
  const start = Math.floor(rng() * nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[(start + i) % nodes.length]!;
    if (passes(pipeline.nodeFilters, request, pipeline.focus(node, request))) return node;
  }
  return undefined;
}

/** Score of the family's least loaded bucket when it has no backlog (an upper bound), else +∞. */
function familyBound(family: NodeFamily, pipeline: IndexedPipeline, request: PlacementRequest): number {
  const first = family.nextLevel(0);
  const bucket = first < 0 ? undefined : family.levels[first]?.[0];
  if (bucket === undefined || bucket.backlog !== 0) return Number.POSITIVE_INFINITY;
  const candidate = pipeline.focus(bucket.nodes[0]!, request);
  // A load filter refusing the least loaded bucket says nothing about the bound: keep it open.
  return passes(pipeline.loadFilters, request, candidate)
    ? pipeline.score(request, candidate)
    : Number.POSITIVE_INFINITY;
}

/**
 * Exact best-score search over the placement index for `indexable` scorers (monotone in load and
 * backlog; see bounded-search.ts for scorers that are only monotone in the estimate). Within a family, nodes in one bucket score
 * alike (scorers are `indexable`), and a bucket with no less load and no less backlog than a
 * feasible one cannot score higher, so only the Pareto front of (load, backlog) is scored,
 * walking load levels upward from the least loaded; nodes with a full batch are scored one by one.
 * Families are visited best bound first, so most are dismissed by one comparison. Returns the best
 * node (ties broken uniformly, weighting buckets by size) or undefined when no indexed node fits,
 * in which case the caller runs the full scan for its diagnostics.
 */
export function searchIndex(
  pipeline: IndexedPipeline,
  request: PlacementRequest,
  index: PlacementIndex,
  context: PlacementContext,
): { node: NodeRecord; score: number } | undefined {
  let best = Number.NEGATIVE_INFINITY;
  const ties: Tie[] = [];
  const saturated: NodeRecord[] = [];
  let totalWeight = 0;
  const offer = (score: number, bucket: LoadBucket | undefined, node: NodeRecord | undefined, weight: number): void => {
    if (score > best + TIE_EPSILON) {
      best = score;
      ties.length = 0;
      totalWeight = 0;
    } else if (score < best - TIE_EPSILON) {
      return;
    }
    ties.push({ bucket, node, weight });
    totalWeight += weight;
  };

  // Bound each family by its least loaded bucket: with no backlog, no member scores higher (saturated
  // members included). Visiting families best bound first lets one comparison skip whole families,
  // such as those that would need a cold start.
  const families: { family: NodeFamily; bound: number }[] = [];
  for (const family of index.families.values()) {
    const representative = family.representative();
    if (representative === undefined) continue;
    if (!passes(pipeline.familyFilters, request, pipeline.focus(representative, request))) continue;
    families.push({ family, bound: familyBound(family, pipeline, request) });
  }
  families.sort((a, b) => b.bound - a.bound);

  for (const { family, bound } of families) {
    if (bound < best - TIE_EPSILON) break;

    // Walk load levels upward; within a level, backlogs ascend. A bucket no better on both
    // counts than a feasible one already seen cannot score higher, so once a feasible bucket with
    // no backlog is found, the rest of the family is dominated.
    let frontBacklog = Number.POSITIVE_INFINITY;
    levels: for (let load = family.nextLevel(0); load >= 0; load = family.nextLevel(load + 1)) {
      for (const bucket of family.levels[load]!) {
        if (bucket.backlog >= frontBacklog) break;
        const candidate = pipeline.focus(bucket.nodes[0]!, request);
        if (!passes(pipeline.loadFilters, request, candidate)) continue;
        const score = pipeline.score(request, candidate);
        if (score < best - TIE_EPSILON) {
          // With no backlog this score bounds every bucket left in the family (more load, ≥ 0 backlog).
          if (bucket.backlog === 0) break levels;
          continue;
        }
        if (feasibleIn(bucket, pipeline, request, context.rng) === undefined) continue;
        frontBacklog = bucket.backlog;
        offer(score, bucket, undefined, bucket.nodes.length);
      }
      if (frontBacklog === 0) break;
    }
    // A node with a full batch waits for a slot on top of everything a node of the same family
    // with a free slot and no more backlog pays, so such a feasible bucket dominates it.
    const occupancy = family.occupancy;
    for (let k = occupancy.lowestSaturatedClass(); k >= 0; k = occupancy.nextSaturatedClass(k)) {
      for (const node of family.saturatedIn(k, saturated)) {
        if (node.prefillBacklog >= frontBacklog) continue;
        const candidate = pipeline.focus(node, request);
        if (!passes(pipeline.loadFilters, request, candidate) || !passes(pipeline.nodeFilters, request, candidate))
          continue;
        offer(pipeline.score(request, candidate), undefined, node, 1);
      }
    }
  }

  if (ties.length === 0) return undefined;
  let r = context.rng() * totalWeight;
  let chosen = ties[ties.length - 1]!;
  for (const tie of ties) {
    r -= tie.weight;
    if (r < 0) {
      chosen = tie;
      break;
    }
  }
  const node =
    chosen.node ??
    (chosen.bucket === undefined ? undefined : feasibleIn(chosen.bucket, pipeline, request, context.rng));
  return node === undefined ? undefined : { node, score: best };
}
