import { z } from 'zod';
import {
  DurationMs,
  EpochMs,
  ErrorCodeSchema,
  IdempotencyKey,
  Name,
  NonNegativeInt,
  SubjectToken,
  Version,
} from './common.js';
import { Timings } from './inference.js';

const MAX_TOKENS = 2_000_000;
/** Items per batch message; larger jobs are several batches (one message must hold the request). */
export const MAX_BATCH_ITEMS = 1000;

const BatchItemInput = z.strictObject({
  inputTokens: z.int().min(1).max(MAX_TOKENS),
  maxOutputTokens: z.int().min(1).max(MAX_TOKENS),
  prompt: z.string().max(8_000).optional(),
});

/** `sy.v1.tenant.<tenant>.batch.submit`: many requests, durable, to finish before a deadline. */
export const BatchSubmitRequest = z.strictObject({
  v: Version,
  model: Name,
  items: z.array(BatchItemInput).min(1).max(MAX_BATCH_ITEMS),
  deadlineAfterMs: DurationMs.min(1000)
    .default(3_600_000)
    .describe('Items not done by then fail with DEADLINE_EXCEEDED.'),
  idempotencyKey: IdempotencyKey.optional().describe(
    'A resubmission with the same key is the same batch (no duplicates).',
  ),
});
export type BatchSubmitRequest = z.infer<typeof BatchSubmitRequest>;

/** The scheduler has durably queued every item. */
export const BatchAccepted = z.strictObject({
  v: Version,
  ok: z.literal(true),
  batchId: SubjectToken,
  items: NonNegativeInt,
  deadlineAtMs: EpochMs,
});
export type BatchAccepted = z.infer<typeof BatchAccepted>;

/** `sy.v1.tenant.<tenant>.batch.status` request. */
export const BatchRef = z.strictObject({ v: Version, batchId: SubjectToken });
export type BatchRef = z.infer<typeof BatchRef>;

export const BatchStatus = z.strictObject({
  v: Version,
  ok: z.literal(true),
  batchId: SubjectToken,
  model: Name,
  items: NonNegativeInt,
  done: NonNegativeInt.describe('Items with a stored result (success or failure).'),
  failed: NonNegativeInt,
  state: z.enum(['running', 'done']),
  deadlineAtMs: EpochMs,
});
export type BatchStatus = z.infer<typeof BatchStatus>;

/** One queued item (JetStream subject `sy.v1.batch.work.<batchId>`), de-duplicated by `<batchId>:<index>`. */
export const BatchWorkItem = z.strictObject({
  v: Version,
  batchId: SubjectToken,
  index: z
    .int()
    .min(0)
    .max(MAX_BATCH_ITEMS - 1),
  tenant: SubjectToken,
  model: Name,
  inputTokens: z.int().min(1).max(MAX_TOKENS),
  maxOutputTokens: z.int().min(1).max(MAX_TOKENS),
  prompt: z.string().max(8_000).optional(),
  deadlineAtMs: EpochMs,
});
export type BatchWorkItem = z.infer<typeof BatchWorkItem>;

/** The stored result of one item (JetStream subject `sy.v1.batch.result.<batchId>.<index>`). */
export const BatchItemResult = z.strictObject({
  v: Version,
  batchId: SubjectToken,
  index: z
    .int()
    .min(0)
    .max(MAX_BATCH_ITEMS - 1),
  ok: z.boolean(),
  nodeId: SubjectToken.optional(),
  outputTokens: NonNegativeInt,
  code: ErrorCodeSchema.optional(),
  message: z.string().max(2048).optional(),
  timings: Timings.optional(),
  completedAtMs: EpochMs,
});
export type BatchItemResult = z.infer<typeof BatchItemResult>;

/** `sy.v1.tenant.<tenant>.batch.results` request: stored results from `fromIndex`, at most `limit`. */
export const BatchResultsRequest = z.strictObject({
  v: Version,
  batchId: SubjectToken,
  fromIndex: z.int().min(0).max(MAX_BATCH_ITEMS).default(0),
  limit: z.int().min(1).max(200).default(200),
});
export type BatchResultsRequest = z.infer<typeof BatchResultsRequest>;

export const BatchResultsReply = z.strictObject({
  v: Version,
  ok: z.literal(true),
  batchId: SubjectToken,
  results: z.array(BatchItemResult),
  nextIndex: z.int().min(0).nullable().describe('Pass as fromIndex for more; null when none are left.'),
});
export type BatchResultsReply = z.infer<typeof BatchResultsReply>;

/** The durable record of a batch (KV bucket `sy_batches`, key: batch id). */
export const BatchRecord = z.strictObject({
  v: Version,
  batchId: SubjectToken,
  tenant: SubjectToken,
  model: Name,
  items: NonNegativeInt,
  deadlineAtMs: EpochMs,
  createdAtMs: EpochMs,
});
export type BatchRecord = z.infer<typeof BatchRecord>;
