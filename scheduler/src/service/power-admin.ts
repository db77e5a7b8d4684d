import {
  type ClusterBudgetReply,
  type ClusterBudgetUpdate,
  type ErrorReply,
  errorReply,
  type LatencyReport,
  type LatencyReportReply,
  PROTOCOL_VERSION,
} from '@switchyard/protocol';
import type { Topology } from '../core/topology/topology.js';
import { TopologyError } from '../core/topology/topology.js';
import type { Counters, Logger } from './ports.js';
import { clusterPowerOf } from './power-service.js';

/** Run-time budget changes outlive a serving term: a new leader term applies them again. */
export type BudgetOverrides = Map<string, { readonly budgetWatts: number; readonly safetyMargin?: number }>;

/**
 * Operator and probe requests about power and geography: budget changes (a grid event, a
 * maintenance window) and measured region → cluster round trips.
 */
export class PowerAdmin {
  constructor(
    private readonly topology: Topology,
    private readonly overrides: BudgetOverrides,
    private readonly counters: Counters,
    private readonly log: Logger,
  ) {}

  setBudget(update: ClusterBudgetUpdate): ClusterBudgetReply | ErrorReply {
    try {
      const state = this.topology.setBudget(update.cluster, update.budgetWatts, update.safetyMargin);
      this.overrides.set(update.cluster, { budgetWatts: state.budgetWatts, safetyMargin: state.safetyMargin });
      this.counters.increment('power.budget.updates');
      this.log.info(
        { cluster: update.cluster, budgetWatts: state.budgetWatts, safetyMargin: state.safetyMargin },
        'cluster power budget changed',
      );
      return { v: PROTOCOL_VERSION, ok: true, power: clusterPowerOf(state) };
    } catch (err) {
      if (err instanceof TopologyError) return errorReply('INVALID_REQUEST', err.message);
      throw err;
    }
  }

  reportLatency(report: LatencyReport): LatencyReportReply {
    let applied = 0;
    for (const sample of report.samples) {
      if (this.topology.observeLatency(sample.region, sample.cluster, sample.rttMs)) applied++;
    }
    this.counters.increment('latency.samples.applied', applied);
    this.counters.increment('latency.samples.ignored', report.samples.length - applied);
    return { v: PROTOCOL_VERSION, ok: true, applied };
  }
}

/** Re-applies run-time budget changes to a fresh topology (a new term). */
export function applyBudgetOverrides(topology: Topology, overrides: BudgetOverrides): void {
  for (const [cluster, budget] of overrides) topology.setBudget(cluster, budget.budgetWatts, budget.safetyMargin);
}
