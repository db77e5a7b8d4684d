import {
  kvBytes,
  type ModelSpec,
  modelLoadMs,
  type NodeHardware,
  predictServiceMs,
  supportsModel,
} from '@switchyard/fleet-model';

/** One kind of node in the fleet as a given request sees it: hardware, memory, model state and distance. */
export interface ServingShape {
  readonly hardware: NodeHardware;
  /** HBM the node reports in total. */
  readonly hbmTotalBytes: number;
  /** Whether some node of this shape has the model loaded (no cold start). */
  readonly modelLoaded: boolean;
  /** The client's round trip to the shape's cluster. */
  readonly networkMs: number;
}

/** The token counts and deadline that admission judges. */
export interface TokenDemand {
  readonly inputTokens: number;
  readonly maxOutputTokens: number;
  readonly deadlineAfterMs?: number | undefined;
}

/** Whether any node could ever serve the request, and how fast at best. */
export type Feasibility =
  | {
      readonly ok: true;
      /** Fastest completion on an idle node that could serve it; undefined when no shape serves the model. */
      readonly fastestMs: number | undefined;
    }
  | { readonly ok: false; readonly code: 'INVALID_REQUEST' | 'DEADLINE_UNREACHABLE'; readonly message: string };

/** Context tokens (prompt + output) one sequence of the model can hold on the shape with nothing else resident. */
export function kvCapacityTokens(model: ModelSpec, shape: ServingShape): number {
  return Math.max(0, Math.floor((shape.hbmTotalBytes - model.weightBytes) / model.kvBytesPerToken));
}

/**
 * The best completion time the request can have on an idle node of this shape: the round trip,
 * a cold start unless the model is loaded, prefill and decode alone at full power (batch 1,
 * speed factor 1). No real node does better, so a deadline shorter than this cannot be met.
 */
export function fastestCompletionMs(model: ModelSpec, demand: TokenDemand, shape: ServingShape): number {
  const loadMs = shape.modelLoaded ? 0 : modelLoadMs(shape.hardware, model);
  const service = predictServiceMs(shape.hardware, model, demand.inputTokens, demand.maxOutputTokens, 1, 1);
  return shape.networkMs + loadMs + service.totalMs;
}

/**
 * Refuses requests no node could ever serve, whatever the load: a context larger than the KV
 * cache of every node that runs the model (INVALID_REQUEST), or a deadline shorter than the
 * fastest completion on any node that could hold it (DEADLINE_UNREACHABLE). Shapes that cannot
 * run the model are ignored; with none left nothing is judged here (placement answers
 * UNKNOWN_MODEL, or the request waits while the fleet is still being learned).
 */
export function judgeFeasibility(model: ModelSpec, demand: TokenDemand, shapes: Iterable<ServingShape>): Feasibility {
  const tokens = demand.inputTokens + demand.maxOutputTokens;
  let serving = 0;
  let largestTokens = 0;
  let fastestMs = Number.POSITIVE_INFINITY;
  for (const shape of shapes) {
    if (!supportsModel(shape.hardware, model)) continue;
    serving++;
    const capacity = kvCapacityTokens(model, shape);
    if (capacity > largestTokens) largestTokens = capacity;
    if (capacity < tokens) continue;
    const ms = fastestCompletionMs(model, demand, shape);
    if (ms < fastestMs) fastestMs = ms;
  }
  if (serving === 0) return { ok: true, fastestMs: undefined };
  if (largestTokens < tokens) {
    return {
      ok: false,
      code: 'INVALID_REQUEST',
      message:
        `inputTokens + maxOutputTokens = ${tokens} needs ${formatBytes(kvBytes(model, tokens))} of KV cache; ` +
        `the largest node serving ${model.name} holds ${largestTokens} tokens (${formatBytes(kvBytes(model, largestTokens))})`,
    };
  }
  if (demand.deadlineAfterMs !== undefined && demand.deadlineAfterMs < fastestMs) {
    return {
      ok: false,
      code: 'DEADLINE_UNREACHABLE',
      message:
        `deadlineAfterMs ${demand.deadlineAfterMs} is shorter than the fastest possible completion of ` +
        `${demand.inputTokens} + ${demand.maxOutputTokens} tokens of ${model.name} on any node (${Math.ceil(fastestMs)} ms, idle)`,
    };
  }
  return { ok: true, fastestMs };
}

function formatBytes(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}
