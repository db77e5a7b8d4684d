import { supportsModel } from '@switchyard/fleet-model';
import type { Candidate, Filter, PlacementRequest } from '../../types.js';

/** Admits nodes whose accelerator profile can run the model at all (size class supported, weights fit in HBM). */
export function modelSupportedFilter(): Filter {
  return {
    name: 'model-supported',
    rejectionCode: 'UNKNOWN_MODEL',
    admits(request: PlacementRequest, { node }: Candidate): boolean {
      return node.loadedModels.has(request.model.name) || supportsModel(node.hardware, request.model);
    },
  };
}
