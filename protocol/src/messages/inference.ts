import { z } from 'zod';
import {
  DurationMs,
  ErrorCodeSchema,
  IdempotencyKey,
  Name,
  NonNegativeInt,
  ReplySubject,
  RequestId,
  SubjectToken,
  Version,
} from './common.js';

export const PRIORITIES = ['high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];
export const SLO_CLASSES = ['interactive', 'standard', 'batch'] as const;
export type SloClass = (typeof SLO_CLASSES)[number];

const MAX_TOKENS = 2_000_000;

/** `sy.v1.tenant.<tenant>.infer`: one stateless inference request. The reply subject receives the answer. */
export const InferRequest = z.strictObject({
  v: Version,
  model: Name,
  inputTokens: z.int().min(1).max(MAX_TOKENS),
  maxOutputTokens: z.int().min(1).max(MAX_TOKENS),
  priority: z.enum(PRIORITIES).default('normal'),
  sloClass: z.enum(SLO_CLASSES).default('interactive'),
  region: Name.optional().describe(
    "The client's region: placement adds its network latency to each cluster (topology). Unknown regions are refused.",
  ),
  deadlineAfterMs: DurationMs.optional().describe(
    'Fail with DEADLINE_EXCEEDED if not finished this long after the scheduler receives it.',
  ),
  idempotencyKey: IdempotencyKey.optional().describe(
    "Retries with the same key while the first is running are answered from that one run; the request id becomes '<tenant>:<key>'.",
  ),
  prompt: z
    .string()
    .max(200_000)
    .optional()
    .describe('Prompt text for real model servers; simulated nodes use inputTokens.'),
  stream: z
    .boolean()
    .optional()
    .describe(
      'Send the text as InferChunk messages to the reply subject while it is generated, then the InferResult. Needs a subscription on your own inbox, not a one-reply request.',
    ),
});
export type InferRequest = z.infer<typeof InferRequest>;
export type InferRequestInput = z.input<typeof InferRequest>;

/** Timings of one request as measured on the node. */
export const Timings = z.strictObject({
  queueMs: DurationMs.describe('Accepted by the node until its prefill started.'),
  loadMs: DurationMs.describe('Time spent loading the model first (cold start), 0 if it was loaded.'),
  ttftMs: DurationMs.describe('Accepted by the node until the first output token.'),
  totalMs: DurationMs.describe('Accepted by the node until the last output token.'),
});
export type Timings = z.infer<typeof Timings>;

/** Successful answer to an InferRequest, sent by the node agent straight to the client's reply subject. */
export const InferResult = z.strictObject({
  v: Version,
  ok: z.literal(true),
  requestId: RequestId,
  nodeId: SubjectToken,
  cluster: Name,
  model: Name,
  inputTokens: NonNegativeInt,
  outputTokens: NonNegativeInt,
  timings: Timings,
  text: z.string().max(1_000_000).optional(),
  chunks: NonNegativeInt.optional().describe(
    'Streamed requests: how many InferChunk messages this attempt sent before the result, so a client can tell it has them all.',
  ),
});
export type InferResult = z.infer<typeof InferResult>;

/** Streamed text of a request, sent by the node to the client's reply subject before the InferResult. */
export const InferChunk = z.strictObject({
  v: Version,
  chunk: z.literal(true),
  requestId: RequestId,
  attempt: z
    .int()
    .min(1)
    .max(16)
    .describe('The placement attempt: a request re-placed after its node was lost streams again from seq 0.'),
  seq: NonNegativeInt.describe('0, 1, 2, … within the attempt, in the order the text was generated.'),
  nodeId: SubjectToken.describe('The node generating it: where a CancelRequest goes.'),
  text: z.string().max(65_536),
});
export type InferChunk = z.infer<typeof InferChunk>;

/** `sy.v1.node.<nodeId>.cancel.<tenant>`: the client stops a request of its tenant the node runs (its model server's work too). */
export const CancelRequest = z.strictObject({ v: Version, requestId: RequestId });
export type CancelRequest = z.infer<typeof CancelRequest>;

/** Reply to a CancelRequest: whether the node was running the request and stopped it. */
export const CancelAck = z.strictObject({
  v: Version,
  ok: z.literal(true),
  requestId: RequestId,
  cancelled: z.boolean().describe('False when the node no longer runs it (finished, failed, or never here).'),
});
export type CancelAck = z.infer<typeof CancelAck>;

/** `sy.v1.node.<nodeId>.assign`: the scheduler hands one request to a node. */
export const Assignment = z.strictObject({
  v: Version,
  requestId: RequestId,
  attempt: z.int().min(1).max(16).describe('1 on first placement; higher when re-placed after a node was lost.'),
  tenant: SubjectToken,
  model: Name,
  inputTokens: z.int().min(1).max(MAX_TOKENS),
  maxOutputTokens: z.int().min(1).max(MAX_TOKENS),
  priority: z.enum(PRIORITIES),
  sloClass: z.enum(SLO_CLASSES),
  deadlineAfterMs: DurationMs.optional().describe('Remaining budget when the assignment was sent.'),
  replyTo: ReplySubject.describe('Subject the node publishes the InferResult (or ErrorReply) to.'),
  prompt: z.string().max(200_000).optional(),
  stream: z.boolean().optional().describe('Stream the text as InferChunk messages before the result.'),
});
export type Assignment = z.infer<typeof Assignment>;

/** The node's answer to an Assignment: it took the work (queued or running). Rejections use ErrorReply. */
export const AssignmentAck = z.strictObject({
  v: Version,
  ok: z.literal(true),
  requestId: RequestId,
  queueDepth: NonNegativeInt,
});
export type AssignmentAck = z.infer<typeof AssignmentAck>;

/** `sy.v1.agent.<nodeId>.result`: work left the node (answered or failed), so the scheduler releases its capacity. */
export const WorkResult = z.strictObject({
  v: Version,
  nodeId: SubjectToken,
  requestId: RequestId,
  attempt: z.int().min(1).max(16),
  ok: z.boolean(),
  code: ErrorCodeSchema.optional(),
  outputTokens: NonNegativeInt,
  timings: Timings,
  energyJoules: z.number().min(0).max(1e12),
});
export type WorkResult = z.infer<typeof WorkResult>;
