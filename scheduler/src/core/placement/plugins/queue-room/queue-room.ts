import type { Candidate, Filter, PlacementRequest } from '../../types.js';

/** Parameters of the queue-room filter. */
export interface QueueRoomParams {
  /** Queue allowed per node, as a multiple of its batch size (default 4, the agents' own queue limit). */
  readonly queueFactor?: number;
}

/** Admits nodes whose work (running + queued + our unconfirmed placements) leaves a queue slot. */
export function queueRoomFilter(params: QueueRoomParams = {}): Filter {
  const queueFactor = params.queueFactor ?? 4;
  if (!(queueFactor >= 0)) throw new RangeError(`queue-room: queueFactor must be ≥ 0, got ${queueFactor}`);
  return {
    name: 'queue-room',
    rejectionCode: 'NO_CAPACITY',
    scope: 'load',
    admits(_request: PlacementRequest, { node }: Candidate): boolean {
      return node.load < node.maxBatchSize * (1 + queueFactor);
    },
  };
}
