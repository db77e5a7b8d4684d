import type { Candidate, Filter, PlacementRequest } from '../../types.js';

/**
 * Keeps every cluster under its power budget: admits a node only if its cluster's committed draw
 * (measured plus predicted since) plus the request's predicted power delta stays within the
 * budget, or the request adds no draw at all. Batch work is also kept out of clusters in the
 * `defer` or `cap` stage; interactive and standard work are never refused for a stage, only
 * steered (by the slo-aware scorer).
 * Clusters without a configured budget admit everything.
 */
export function powerBudgetFilter(): Filter {
  return {
    name: 'power-budget',
    rejectionCode: 'NO_CAPACITY',
    scope: 'load',
    admits(request: PlacementRequest, candidate: Candidate): boolean {
      const cluster = candidate.node.clusterState;
      if (cluster === undefined || !cluster.budgeted) return true;
      if (request.sloClass === 'batch') {
        const stage = cluster.stage;
        if (stage === 'defer' || stage === 'cap') return false;
      }
      // Work that adds no draw (a node held at its power limit, or a full batch) never breaks the
      // budget, so a cluster being capped back under it still serves interactive work.
      const delta = candidate.estimate().powerDeltaWatts;
      return delta === 0 || cluster.committedWatts + delta <= cluster.budgetWatts;
    },
  };
}
