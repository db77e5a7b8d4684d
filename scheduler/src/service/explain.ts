import type { ModelSpec } from '@switchyard/fleet-model';
import {
  type ClusterPower,
  type ErrorReply,
  errorReply,
  type ExplainedCandidate,
  type ExplainReply,
  type ExplainRequest,
  MAX_MESSAGE_BYTES,
  type PlacementEstimate,
  PROTOCOL_VERSION,
} from '@switchyard/protocol';
import type { FleetView } from '../core/fleet/fleet-view.js';
import type { PlacementFramework } from '../core/placement/framework.js';
import type { CandidateExplanation, Estimate, PlacementRequest } from '../core/placement/types.js';
import type { Topology } from '../core/topology/topology.js';
import { clusterPowerOf } from './power-service.js';

/** Predictions beyond this (or not finite) are reported as this: JSON cannot carry Infinity. */
export const MAX_REPORTED_PREDICTION = 1e12;

/** The ids the wire allows for names of plugins (ExplainedCandidate.rejectedBy, score keys). */
const MAX_PLUGIN_NAME_CHARS = 64;

/** Every cluster with a finite power budget, by name: what an operator watches. */
export function fleetPower(topology: Topology): ClusterPower[] {
  const power: ClusterPower[] = [];
  for (const state of topology.all()) if (state.budgeted) power.push(clusterPowerOf(state));
  return power.sort((a, b) => (a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : 0));
}

/**
 * How the scheduler would place `request` now, without placing it: runs the placement framework
 * in explain mode (a full scan, so every node gets a verdict) over the live fleet and reports the
 * decision, the pipeline and the best `candidateLimit` candidates. Pure: reserves nothing, sends
 * nothing. The request is built as the inference path builds it, so the answer is the one a real
 * request arriving at `nowMs` would get (ties aside: the picker draws from `rng`).
 */
export function explainPlacement(
  framework: PlacementFramework,
  fleet: FleetView,
  models: (name: string) => ModelSpec | undefined,
  request: ExplainRequest,
  nowMs: number,
  rng: () => number,
): ExplainReply | ErrorReply {
  if (request.region !== undefined && !fleet.topology.hasRegion(request.region)) {
    const known = fleet.topology.regionNames;
    return errorReply(
      'UNKNOWN_REGION',
      `region ${request.region} is not in the scheduler's topology; ` +
        (known.length === 0 ? 'it configures no regions' : `known: ${known.join(', ')}`),
    );
  }
  const model = models(request.model);
  if (model === undefined) {
    return errorReply('UNKNOWN_MODEL', `model ${request.model} is not in the scheduler's catalogue`);
  }
  const placementRequest: PlacementRequest = {
    requestId: 'explain',
    model,
    inputTokens: request.inputTokens,
    maxOutputTokens: request.maxOutputTokens,
    priority: request.priority,
    sloClass: request.sloClass,
    region: request.region,
    // As for a real request: work with a deadline must finish within it; interactive work is judged on TTFT.
    targetMs:
      request.sloClass !== 'interactive' && request.deadlineAfterMs !== undefined ? request.deadlineAfterMs : undefined,
  };
  const decision = framework.place(placementRequest, fleet, { nowMs, rng, explain: true });
  const chosen = decision.ok ? decision.node.nodeId : undefined;
  const filterOrder = new Map(framework.filters.map((filter, i) => [filter.name, i]));
  const ranked = rank(decision.explanation ?? [], chosen, filterOrder).slice(0, request.candidateLimit);
  const candidates: ExplainedCandidate[] = [];
  for (const explanation of ranked) {
    const node = fleet.get(explanation.nodeId);
    if (node !== undefined) candidates.push(describe(explanation, node.cluster, node.profileName));
  }
  const reply: ExplainReply = {
    v: PROTOCOL_VERSION,
    ok: true,
    decision: decision.ok
      ? { ok: true, nodeId: decision.node.nodeId, score: score(decision.score) }
      : { ok: false, code: decision.code, message: clip(decision.message, 2048) },
    pipeline: {
      filters: framework.filters.map((filter) => clip(filter.name, MAX_PLUGIN_NAME_CHARS)),
      scorers: framework.scorers.map(({ scorer, weight }) => ({
        name: clip(scorer.name, MAX_PLUGIN_NAME_CHARS),
        weight,
      })),
      picker: clip(framework.picker.name, MAX_PLUGIN_NAME_CHARS),
    },
    candidatesTotal: decision.candidates,
    candidates: [],
    power: fleetPower(fleet.topology),
  };
  return fitInOneMessage(reply, candidates);
}

/**
 * Best first: the chosen node, then the other survivors by total score, then the rejected nodes,
 * those that passed more filters first (they were closest to taking the request). Node id breaks
 * ties, so the order does not depend on where nodes sit in the fleet's arrays.
 */
function rank(
  explanations: readonly CandidateExplanation[],
  chosen: string | undefined,
  filterOrder: ReadonlyMap<string, number>,
): CandidateExplanation[] {
  const key = (e: CandidateExplanation): number =>
    e.nodeId === chosen
      ? Number.POSITIVE_INFINITY
      : e.rejectedBy === undefined
        ? 2 + (e.total ?? 0)
        : (filterOrder.get(e.rejectedBy) ?? 0) / (filterOrder.size + 1);
  return [...explanations].sort((a, b) => key(b) - key(a) || (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
}

function describe(explanation: CandidateExplanation, cluster: string, profile: string): ExplainedCandidate {
  const candidate: ExplainedCandidate = { nodeId: explanation.nodeId, cluster, profile };
  if (explanation.rejectedBy !== undefined) candidate.rejectedBy = clip(explanation.rejectedBy, MAX_PLUGIN_NAME_CHARS);
  if (explanation.scores !== undefined) {
    const scores: Record<string, number> = {};
    for (const [name, value] of Object.entries(explanation.scores))
      scores[clip(name, MAX_PLUGIN_NAME_CHARS)] = score(value);
    candidate.scores = scores;
  }
  if (explanation.total !== undefined) candidate.total = score(explanation.total);
  if (explanation.estimate !== undefined) candidate.estimate = placementEstimate(explanation.estimate);
  return candidate;
}

/** The wire form of an estimate: times to 0.1 ms, energy to 0.1 J, power to 0.1 W. */
export function placementEstimate(estimate: Estimate): PlacementEstimate {
  return {
    coldStart: estimate.coldStart,
    networkMs: tenths(estimate.networkMs),
    loadMs: tenths(estimate.loadMs),
    queueWaitMs: tenths(estimate.queueWaitMs),
    prefillMs: tenths(estimate.prefillMs),
    ttftMs: tenths(estimate.ttftMs),
    totalMs: tenths(estimate.totalMs),
    energyJoules: tenths(estimate.energyJoules),
    powerDeltaWatts: tenths(estimate.powerDeltaWatts),
  };
}

/** A non-negative prediction to one decimal; unbounded or undefined (NaN) ones become MAX_REPORTED_PREDICTION. */
function tenths(value: number): number {
  if (!(value < MAX_REPORTED_PREDICTION)) return MAX_REPORTED_PREDICTION;
  return value > 0 ? Math.round(value * 10) / 10 : 0;
}

/** A score in [0, 1] to four decimals (enough to tell apart what the picker compared). */
function score(value: number): number {
  if (!(value > 0)) return 0;
  return value >= 1 ? 1 : Math.round(value * 1e4) / 1e4;
}

function clip(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : text.slice(0, maxChars);
}

/**
 * Adds candidates in rank order while the encoded reply stays within one message. Names can be
 * long (node ids 64 characters, clusters and profiles 128), so 500 candidates do not always fit;
 * the best ones always come first. Should even the cluster list overflow (thousands of budgeted
 * clusters), it is cut too: the reply must be sendable.
 */
function fitInOneMessage(reply: ExplainReply, ranked: readonly ExplainedCandidate[]): ExplainReply {
  let bytes = Buffer.byteLength(JSON.stringify(reply));
  if (bytes > MAX_MESSAGE_BYTES) {
    const power = [...reply.power];
    while (bytes > MAX_MESSAGE_BYTES && power.length > 0) {
      const dropped = power.pop();
      bytes -= Buffer.byteLength(JSON.stringify(dropped)) + (power.length > 0 ? 1 : 0);
    }
    reply.power = power;
  }
  const candidates: ExplainedCandidate[] = [];
  for (const candidate of ranked) {
    const added = Buffer.byteLength(JSON.stringify(candidate)) + (candidates.length > 0 ? 1 : 0);
    if (bytes + added > MAX_MESSAGE_BYTES) break;
    bytes += added;
    candidates.push(candidate);
  }
  reply.candidates = candidates;
  return reply;
}
