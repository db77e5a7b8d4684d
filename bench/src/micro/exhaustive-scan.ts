/**
 * References for the placement benchmark, all deliberately naive:
 * - the plain scan issue 4 calibrates its speed targets against ("a plain scan that scores every
 *   node takes about 120 µs p50 at 10,000 nodes"): one arithmetic score per schedulable warm node,
 *   nothing allocated (plainScanOneScore); it measures how fast this machine walks a fleet;
 * - the "plain exhaustive scan" DESIGN.md quotes: simple checks, `estimateOn`
 *   on every node that passes, keep the lowest TTFT;
 * - a brute-force recomputation of the framework's own definition (every configured filter and
 *   weighted scorer on every node, no caching, no shortcuts), to prove that whatever the framework
 *   does to be fast (it searches the fleet's placement index) it still picks a node of the best
 *   weighted score, and to measure by how much it misses when it does not.
 */
import { supportsModel } from '@switchyard/fleet-model';
import {
  estimateOn,
  requestKvBytes,
  type Candidate,
  type Estimate,
  type NodeRecord,
  type PlacementContext,
  type PlacementFramework,
  type PlacementRequest,
  type PlacementSnapshot,
} from '@switchyard/scheduler';

/** Scores closer than this are the same score (the max-score picker's tie epsilon). */
export const SCORE_EPSILON = 1e-9;

/** The default queue-room factor: a node takes at most batch × (1 + 4) requests. */
const QUEUE_FACTOR = 4;

/**
 * The plainest scan that scores every node: schedulable nodes with the model loaded, scored by free
 * memory share less load share, the best kept. No estimate, no allocation: the machine's floor for
 * anything that looks at every node.
 */
export function plainScanOneScore(nodes: readonly NodeRecord[], request: PlacementRequest): NodeRecord | undefined {
  const model = request.model.name;
  let best: NodeRecord | undefined;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    if (node === undefined || !node.schedulable || !node.loadedModels.has(model)) continue;
    const free = node.hbmTotalBytes - node.hbmUsedBytes - node.reservedKvBytes;
    const score = free / node.hbmTotalBytes - node.load / node.maxBatchSize;
    if (score > bestScore) {
      bestScore = score;
      best = node;
    }
  }
  return best;
}

/**
 * The plain scan: schedulable, not excluded, can run the model, has a queue slot and HBM for the
 * request; of those, the node with the lowest predicted TTFT (first one wins ties).
 */
export function plainScanMinTtft(
  nodes: readonly NodeRecord[],
  request: PlacementRequest,
): { node: NodeRecord; estimate: Estimate } | undefined {
  const kvBytes = requestKvBytes(request);
  const modelName = request.model.name;
  const exclude = request.excludeNodeIds;
  let best: NodeRecord | undefined;
  let bestEstimate: Estimate | undefined;
  let bestTtftMs = Number.POSITIVE_INFINITY;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    if (node === undefined || !node.schedulable) continue;
    if (exclude !== undefined && exclude.has(node.nodeId)) continue;
    const loaded = node.loadedModels.has(modelName);
    if (!loaded && !supportsModel(node.hardware, request.model)) continue;
    if (node.load >= node.maxBatchSize * (1 + QUEUE_FACTOR)) continue;
    const needBytes = kvBytes + (loaded ? 0 : request.model.weightBytes);
    if (needBytes > node.hbmTotalBytes - node.hbmUsedBytes - node.reservedKvBytes) continue;
    const estimate = estimateOn(node, request);
    if (estimate.ttftMs < bestTtftMs) {
      best = node;
      bestEstimate = estimate;
      bestTtftMs = estimate.ttftMs;
    }
  }
  return best === undefined || bestEstimate === undefined ? undefined : { node: best, estimate: bestEstimate };
}

function clamp01(value: number): number {
  if (!(value > 0)) return 0;
  return value > 1 ? 1 : value;
}

/** A candidate that recomputes its estimate on every call: no caching to get wrong. */
function freshCandidate(node: NodeRecord, request: PlacementRequest): Candidate {
  return { node, estimate: () => estimateOn(node, request) };
}

/** Every surviving node's normalised weighted score under `framework`'s configured plugins. */
export function bruteForceScores(
  framework: PlacementFramework,
  request: PlacementRequest,
  nodes: readonly NodeRecord[],
): { scores: Map<NodeRecord, number>; bestScore: number; bestCount: number } {
  const weightSum = framework.scorers.reduce((sum, s) => sum + s.weight, 0);
  const scores = new Map<NodeRecord, number>();
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const node of nodes) {
    const candidate = freshCandidate(node, request);
    if (!framework.filters.every((filter) => filter.admits(request, candidate))) continue;
    let total = 0;
    for (const { scorer, weight } of framework.scorers) total += clamp01(scorer.score(request, candidate)) * weight;
    const score = weightSum > 0 ? total / weightSum : 0;
    scores.set(node, score);
    if (score > bestScore) bestScore = score;
  }
  let bestCount = 0;
  for (const score of scores.values()) if (score >= bestScore - SCORE_EPSILON) bestCount++;
  return { scores, bestScore, bestCount };
}

/** Outcome of checking the framework against brute force over a sample of requests. */
export interface PickVerification {
  readonly checked: number;
  /** Decisions whose pick is not a best-scoring node (or ok/rejected disagree). Must be 0. */
  readonly mismatches: number;
  /** Placed decisions whose pick scores more than 1e-9 below the brute-force best. */
  readonly pickDiffers: number;
  /** Mean and largest (brute-force best − recomputed score of the pick) over placed decisions. */
  readonly meanScoreGap: number;
  readonly maxScoreGap: number;
  /** Requests no node could take (both agree on the rejection). */
  readonly rejected: number;
  /** Requests with more than one node at the best score (the picker's RNG chose among them). */
  readonly tied: number;
  /** Mean nodes passing every filter, per request. */
  readonly meanSurvivors: number;
  /**
   * Share of placed requests whose pick has the plain scan's lowest predicted TTFT (informative: the
   * default scorer trades TTFT for energy once the SLO is met).
   */
  readonly minTtftShare: number;
  /** First few mismatches, described. */
  readonly examples: readonly string[];
}

/**
 * Runs `framework.place` over `snapshot` (with its placement index, as the scheduler does) and the
 * brute-force recomputation on each request, and compares picks and scores.
 */
export function verifyPicks(
  framework: PlacementFramework,
  snapshot: PlacementSnapshot,
  requests: readonly PlacementRequest[],
  context: PlacementContext,
): PickVerification {
  const nodes = snapshot.nodes;
  let mismatches = 0;
  let pickDiffers = 0;
  let gapSum = 0;
  let maxScoreGap = 0;
  let rejected = 0;
  let tied = 0;
  let survivors = 0;
  let minTtft = 0;
  let placed = 0;
  const examples: string[] = [];
  const note = (text: string): void => {
    mismatches++;
    if (examples.length < 5) examples.push(text);
  };
  for (const request of requests) {
    const decision = framework.place(request, snapshot, context);
    const brute = bruteForceScores(framework, request, nodes);
    survivors += brute.scores.size;
    if (brute.bestCount > 1) tied++;
    if (!decision.ok) {
      if (brute.scores.size > 0)
        note(`${request.requestId}: framework rejected (${decision.code}) but ${brute.scores.size} nodes pass`);
      else rejected++;
      continue;
    }
    const pickedScore = brute.scores.get(decision.node);
    if (pickedScore === undefined) {
      note(`${request.requestId}: framework picked ${decision.node.nodeId}, which brute force filters out`);
      continue;
    }
    const gap = Math.max(0, brute.bestScore - pickedScore);
    gapSum += gap;
    if (gap > maxScoreGap) maxScoreGap = gap;
    if (gap > SCORE_EPSILON) pickDiffers++;
    if (gap > SCORE_EPSILON || Math.abs(decision.score - brute.bestScore) > SCORE_EPSILON) {
      note(
        `${request.requestId}: framework picked ${decision.node.nodeId} (score ${decision.score}, recomputed ${pickedScore}); best is ${brute.bestScore}`,
      );
    }
    placed++;
    const plain = plainScanMinTtft(nodes, request);
    if (plain !== undefined && decision.estimate.ttftMs <= plain.estimate.ttftMs * (1 + 1e-9)) minTtft++;
  }
  return {
    checked: requests.length,
    mismatches,
    pickDiffers,
    meanScoreGap: placed > 0 ? gapSum / placed : 0,
    maxScoreGap,
    rejected,
    tied,
    meanSurvivors: requests.length > 0 ? survivors / requests.length : 0,
    minTtftShare: placed > 0 ? minTtft / placed : 0,
    examples,
  };
}
