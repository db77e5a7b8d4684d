/**
 * Error codes carried on the wire and used by the decision core for "nothing fits". A code is
 * stable API: clients in other languages switch on it. Add codes; never rename or reuse one.
 */
export const ERROR_CODES = [
  /** Body is not valid UTF-8 JSON, fails the schema, has unknown fields, or contradicts its subject. */
  'INVALID_REQUEST',
  /** Body's `v` is a protocol version this process does not speak. */
  'UNSUPPORTED_VERSION',
  /** Body is larger than MAX_MESSAGE_BYTES. */
  'PAYLOAD_TOO_LARGE',
  /** No node serves or can load the requested model. */
  'UNKNOWN_MODEL',
  /** Nodes exist for the model but none has room now (memory, batch slots, queue). Retryable. */
  'NO_CAPACITY',
  /** The sender is not a registered node (e.g. after a scheduler restart): it must register again. */
  'UNKNOWN_NODE',
  /** The agent's accelerator profile is not one the scheduler knows how to predict. */
  'UNKNOWN_PROFILE',
  /** The node holding the work died or left; the work was not completed. Retryable. */
  'NODE_LOST',
  /** The node refused an assignment because it is draining or shutting down. Retryable. */
  'NODE_DRAINING',
  /** The request's deadline passed before it could complete. */
  'DEADLINE_EXCEEDED',
  /** Admission refused the request because the system is saturated. Retryable after retryAfterMs. */
  'OVERLOADED',
  /** An unexpected failure inside a Switchyard process. */
  'INTERNAL',
  /** The client cancelled the request; the node stopped it (and its model server's work). */
  'CANCELLED',
  /** The session does not exist (never opened, or closed and forgotten). */
  'SESSION_NOT_FOUND',
  /** The session was closed; it takes no more turns. */
  'SESSION_CLOSED',
  /** The same idempotency key was used before with a different body. */
  'IDEMPOTENCY_CONFLICT',
  /** The tenant is at its quota (open sessions, concurrent requests, or a request bigger than its tokens per minute). */
  'QUOTA_EXCEEDED',
  /** The tenant sends faster than its rate limit (requests per second, tokens per minute). Retryable after retryAfterMs. */
  'RATE_LIMITED',
  /** This node no longer owns the session (it moved): retry, the new owner answers. Retryable. */
  'NOT_OWNER',
  /** The batch does not exist for this tenant. */
  'BATCH_NOT_FOUND',
  /** The request names a client region the scheduler's topology does not know. */
  'UNKNOWN_REGION',
  /** No node could finish the request within its deadline even if idle: retrying will not help. */
  'DEADLINE_UNREACHABLE',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'NO_CAPACITY',
  'NODE_LOST',
  'NODE_DRAINING',
  'OVERLOADED',
  'NOT_OWNER',
  'RATE_LIMITED',
]);

/** Whether a client may retry a request that failed with this code (with the same idempotency key). */
export function isRetryable(code: ErrorCode): boolean {
  return RETRYABLE.has(code);
}

/** Base class for Switchyard failures that cross an API boundary; `code` is the wire error code. */
export class SwitchyardError extends Error {
  override readonly name: string = 'SwitchyardError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A message could not be decoded: bad JSON, wrong shape, unknown version or too large. */
export class ProtocolError extends SwitchyardError {
  override readonly name = 'ProtocolError';
}

/** The remote side answered with an error reply; `retryAfterMs` echoes its hint. */
export class RemoteError extends SwitchyardError {
  override readonly name = 'RemoteError';
  constructor(
    code: ErrorCode,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(code, message);
  }
}
