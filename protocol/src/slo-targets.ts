import type { SloClass } from './messages/inference.js';

/**
 * What each SLO class is judged against when a request sets no deadline of its own: TTFT for
 * `interactive`, completion for `standard` and `batch`. One definition for the scheduler's scorer,
 * the agents' SLO counters and the capacity planner, so they cannot disagree.
 */
export interface SloTargets {
  readonly interactiveTtftMs: number;
  readonly standardTotalMs: number;
  readonly batchTotalMs: number;
}

export const DEFAULT_SLO_TARGETS: SloTargets = {
  interactiveTtftMs: 1_000,
  standardTotalMs: 30_000,
  batchTotalMs: 3_600_000,
};

/** Whether a served request met its class's target. */
export function meetsSloTarget(
  sloClass: SloClass,
  ttftMs: number,
  totalMs: number,
  targets: SloTargets = DEFAULT_SLO_TARGETS,
): boolean {
  if (sloClass === 'interactive') return ttftMs <= targets.interactiveTtftMs;
  return totalMs <= (sloClass === 'standard' ? targets.standardTotalMs : targets.batchTotalMs);
}
