import type { Candidate, Filter, PlacementRequest } from '../../types.js';
import { requestKvBytes } from '../../estimate.js';

/**
 * Admits nodes with HBM for the request: its full KV cache (prompt + all output tokens) on top of
 * what the node reports used and what we reserved since, plus the weights on a cold start.
 */
export function memoryFitFilter(): Filter {
  return {
    name: 'memory-fit',
    rejectionCode: 'NO_CAPACITY',
    scope: 'node',
    minFreeHbmBytes(request: PlacementRequest, coldStart: boolean): number {
      return requestKvBytes(request) + (coldStart ? request.model.weightBytes : 0);
    },
    admits(request: PlacementRequest, { node }: Candidate): boolean {
      const needBytes =
        requestKvBytes(request) + (node.loadedModels.has(request.model.name) ? 0 : request.model.weightBytes);
      const freeBytes = node.hbmTotalBytes - node.hbmUsedBytes - node.reservedKvBytes;
      return needBytes <= freeBytes;
    },
  };
}
