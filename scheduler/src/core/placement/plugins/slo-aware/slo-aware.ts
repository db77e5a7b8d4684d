import { DEFAULT_SLO_TARGETS, type PowerStage } from '@switchyard/protocol';
import type { Candidate, PlacementRequest, Scorer } from '../../types.js';

/** Parameters of the SLO-aware scorer. */
export interface SloAwareParams {
  /** Time-to-first-token target of `interactive` work that sets none itself (default 1000 ms). */
  readonly interactiveTtftMs?: number;
  /** Completion target of `standard` work without a deadline (default 30 s). */
  readonly standardTotalMs?: number;
  /** Completion target of `batch` work without a deadline (default 1 h). */
  readonly batchTotalMs?: number;
  /** Energy per token that halves the efficiency score (default 1 J/token). */
  readonly joulesPerTokenRef?: number;
  /** Multiplier on energy cost in a cluster steering work away (default 2; ×2 again per stage beyond). */
  readonly steerPenalty?: number;
}

/** Scores of work that meets its target lie in [MEETS_FLOOR, 1]; of work that misses, in [0, MISSES_CEILING]. */
export const MEETS_FLOOR = 0.6;
export const MISSES_CEILING = 0.4;

const STAGE_EXPONENT: Readonly<Record<PowerStage, number>> = { normal: 0, steer: 1, defer: 2, cap: 3 };

/**
 * The placement policy for SLO classes, as one scorer so that its tiers are strict:
 * - a node that meets the request's target (TTFT for `interactive`, completion for `standard` and
 *   `batch`, the request's own deadline when it has one) scores in [0.6, 1]; one that misses it
 *   scores in [0, 0.4], higher the sooner, so if none can meet it the fastest wins;
 * - among nodes that meet it, every class takes the least energy cost: meeting the SLO is the
 *   promise, energy and power are what the fleet saves by keeping it no better than promised;
 * - energy cost is joules per token × a penalty for the node's cluster power stage (steer ×2,
 *   defer ×4, cap ×8), so work drifts away from clusters near their budget without ever
 *   giving up its SLO for it.
 * Not `indexable` (energy per token falls as a node's batch fills, so the score is not monotone in
 * load) but `estimateMonotone`: it reads only the estimate and the cluster's stage, and a longer
 * time, more energy or a harsher stage never raise it (the tiers keep that: misses < meets), so the
 * placement index can bound groups of nodes by an estimate floor and search them exactly.
 */
export function sloAwareScorer(params: SloAwareParams = {}): Scorer {
  const interactiveTtftMs = positive(
    'interactiveTtftMs',
    params.interactiveTtftMs ?? DEFAULT_SLO_TARGETS.interactiveTtftMs,
  );
  const standardTotalMs = positive('standardTotalMs', params.standardTotalMs ?? DEFAULT_SLO_TARGETS.standardTotalMs);
  const batchTotalMs = positive('batchTotalMs', params.batchTotalMs ?? DEFAULT_SLO_TARGETS.batchTotalMs);
  const joulesPerTokenRef = positive('joulesPerTokenRef', params.joulesPerTokenRef ?? 1);
  const steerPenalty = params.steerPenalty ?? 2;
  if (!(steerPenalty >= 1)) throw new RangeError(`slo-aware: steerPenalty must be ≥ 1, got ${steerPenalty}`);
  // Computed once: a power per score call costs more than the rest of the formula.
  const penalty: Readonly<Record<PowerStage, number>> = {
    normal: steerPenalty ** STAGE_EXPONENT.normal,
    steer: steerPenalty ** STAGE_EXPONENT.steer,
    defer: steerPenalty ** STAGE_EXPONENT.defer,
    cap: steerPenalty ** STAGE_EXPONENT.cap,
  };
  return {
    name: 'slo-aware',
    estimateMonotone: true,
    score(request: PlacementRequest, candidate: Candidate): number {
      const estimate = candidate.estimate();
      const interactive = request.sloClass === 'interactive';
      const measured = interactive ? estimate.ttftMs : estimate.totalMs;
      const target =
        request.targetMs ??
        (interactive ? interactiveTtftMs : request.sloClass === 'standard' ? standardTotalMs : batchTotalMs);
      // A deadline already spent (target 0) must still rank the fastest first, not tie every node.
      if (!(measured <= target)) return MISSES_CEILING / (1 + measured / Math.max(target, 1));
      const stage = candidate.node.clusterState?.stage ?? 'normal';
      const tokens = request.inputTokens + request.maxOutputTokens;
      const cost = (estimate.energyJoules / tokens) * penalty[stage];
      const efficiency = 1 / (1 + cost / joulesPerTokenRef);
      return MEETS_FLOOR + (1 - MEETS_FLOOR) * efficiency;
    },
  };
}

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`slo-aware: ${name} must be > 0, got ${value}`);
  return value;
}
