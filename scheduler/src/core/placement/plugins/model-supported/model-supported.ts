import { supportsModel } from '@switchyard/fleet-model';
import type { Candidate, Filter, PlacementRequest } from '../../types.js';

/**
 * Admits nodes whose accelerator profile can run the model (size class supported, weights fit in HBM).
 * A node reporting the model loaded although its profile has no figures for it (a quantised variant,
 * a misreport) is refused too: placement would have no latency to predict.
 */
export function modelSupportedFilter(): Filter {
  return {
    name: 'model-supported',
    rejectionCode: 'UNKNOWN_MODEL',
    scope: 'family',
    admits(request: PlacementRequest, { node }: Candidate): boolean {
      return supportsModel(node.hardware, request.model);
    },
  };
}
