import type { Candidate, Filter, PlacementRequest } from '../../types.js';

/** Admits nodes that are alive, not cordoned or draining, and not excluded for this request. */
export function schedulableFilter(): Filter {
  return {
    name: 'schedulable',
    rejectionCode: 'NO_CAPACITY',
    scope: 'node',
    admits(request: PlacementRequest, { node }: Candidate): boolean {
      if (!node.schedulable) return false;
      return request.excludeNodeIds === undefined || !request.excludeNodeIds.has(node.nodeId);
    },
  };
}
