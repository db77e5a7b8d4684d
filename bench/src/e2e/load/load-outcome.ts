import { RequestError, TimeoutError } from '@nats-io/transport-node';
import { decode, InferReply, SessionTurnReply, type SloClass, type Timings } from '@switchyard/protocol';

/** The stateless SLO classes, plus agent-session turns (which go straight to their owner node). */
export type LoadClass = SloClass | 'session';
export const LOAD_CLASSES: readonly LoadClass[] = ['interactive', 'standard', 'batch', 'session'];

/** How a request ended: an answer, an error reply (or failure to send), or no answer within the client timeout. */
export type OutcomeKind = 'answered' | 'error' | 'timeout';

/** Codes the client gives outcomes that carry no wire error code. */
export const CLIENT_CODES = {
  /** Nothing subscribed to the subject (no scheduler, or no owner for the session). */
  noResponders: 'NO_RESPONDERS',
  /** No answer within the client timeout, counted from the intended send time. */
  timeout: 'CLIENT_TIMEOUT',
  /** An answer that does not decode as the protocol's reply. */
  invalidReply: 'INVALID_REPLY',
  /** The client could not send (e.g. its connection closed). */
  clientError: 'CLIENT_ERROR',
} as const;

/** One request (or session turn) as the load client saw it. */
export interface LoadOutcome {
  readonly loadClass: LoadClass;
  readonly model: string;
  /** Intended send time, ms after the run started. */
  readonly intendedAtMs: number;
  /** How much later than intended the client actually sent it. */
  readonly sendLagMs: number;
  /** From the intended send time to the answer, the error, or the client timeout. */
  readonly latencyMs: number;
  readonly kind: OutcomeKind;
  /** `ok`, a wire error code, or one of CLIENT_CODES. */
  readonly code: string;
  /** The node's own timings (answered requests only). */
  readonly nodeTimings?: Timings;
  /**
   * Stateless requests: latency less the node's `totalMs`, i.e. everything outside the node — the
   * client's send lag, the NATS hops client → scheduler → node → client, and the scheduler's
   * admission queueing and placement.
   */
  readonly schedulerHopMs?: number;
  /** Latency less the node's decode time: the first token as the client would have seen it streamed. */
  readonly clientTtftMs?: number;
  readonly outputTokens?: number;
}

/** What an outcome is about, before it ends. */
export interface OutcomeContext {
  readonly loadClass: LoadClass;
  readonly model: string;
  readonly intendedAtMs: number;
  readonly sendLagMs: number;
}

function answered(context: OutcomeContext, latencyMs: number, timings: Timings, outputTokens: number): LoadOutcome {
  const decodeMs = Math.max(0, timings.totalMs - timings.ttftMs);
  return {
    ...context,
    latencyMs,
    kind: 'answered',
    code: 'ok',
    nodeTimings: timings,
    ...(context.loadClass === 'session' ? {} : { schedulerHopMs: latencyMs - timings.totalMs }),
    clientTtftMs: Math.max(timings.ttftMs, latencyMs - decodeMs),
    outputTokens,
  };
}

/** The outcome of a stateless request from its raw reply. */
export function outcomeOfInferReply(context: OutcomeContext, latencyMs: number, data: Uint8Array): LoadOutcome {
  const decoded = decode(InferReply, data);
  if (!decoded.ok) return { ...context, latencyMs, kind: 'error', code: CLIENT_CODES.invalidReply };
  const reply = decoded.value;
  if (!reply.ok) return { ...context, latencyMs, kind: 'error', code: reply.error.code };
  return answered(context, latencyMs, reply.timings, reply.outputTokens);
}

/** The outcome of a session turn from its raw reply. */
export function outcomeOfTurnReply(context: OutcomeContext, latencyMs: number, data: Uint8Array): LoadOutcome {
  const decoded = decode(SessionTurnReply, data);
  if (!decoded.ok) return { ...context, latencyMs, kind: 'error', code: CLIENT_CODES.invalidReply };
  const reply = decoded.value;
  if (!reply.ok) return { ...context, latencyMs, kind: 'error', code: reply.error.code };
  return answered(context, latencyMs, reply.timings, reply.outputTokens);
}

/** The outcome of a request whose NATS request failed: no responders, a timeout, or a client-side failure. */
export function outcomeOfRequestError(context: OutcomeContext, latencyMs: number, err: unknown): LoadOutcome {
  if (err instanceof RequestError && err.isNoResponders())
    return { ...context, latencyMs, kind: 'error', code: CLIENT_CODES.noResponders };
  const timedOut = err instanceof TimeoutError || (err instanceof RequestError && err.cause instanceof TimeoutError);
  if (timedOut) return { ...context, latencyMs, kind: 'timeout', code: CLIENT_CODES.timeout };
  return { ...context, latencyMs, kind: 'error', code: CLIENT_CODES.clientError };
}
