import { z } from 'zod';
import { DurationMs, EpochMs, IdempotencyKey, Name, NonNegativeInt, SubjectToken, Version } from './common.js';
import { SLO_CLASSES } from './inference.js';
import { Timings } from './inference.js';

const MAX_TOKENS = 2_000_000;

export const SESSION_STATES = ['open', 'migrating', 'closed'] as const;
export type SessionState = (typeof SESSION_STATES)[number];

/** `sy.v1.tenant.<tenant>.session.open`: start a stateful session. */
export const SessionOpenRequest = z.strictObject({
  v: Version,
  model: Name,
  expectedContextTokens: z
    .int()
    .min(0)
    .max(MAX_TOKENS)
    .default(4096)
    .describe('How large the context is expected to grow; the owner must hold its KV cache.'),
  sloClass: z.enum(SLO_CLASSES).default('interactive'),
  placement: z
    .strictObject({
      cluster: Name.optional(),
      zone: Name.optional(),
    })
    .optional()
    .describe('Hints: prefer nodes in this cluster or zone when they can take the session.'),
});
export type SessionOpenRequest = z.infer<typeof SessionOpenRequest>;

/** A session as the scheduler records it (the KV value, and what open/get/list answer). */
export const SessionInfoFields = {
  sessionId: SubjectToken,
  tenant: SubjectToken,
  model: Name,
  state: z.enum(SESSION_STATES),
  ownerNodeId: SubjectToken.nullable().describe('The node serving turns; null while the session moves.'),
  contextTokens: NonNegativeInt.describe('Tokens of context so far (prompts and answers of all turns).'),
  expectedContextTokens: NonNegativeInt,
  turns: NonNegativeInt,
  createdAtMs: EpochMs,
  turnSubject: z
    .string()
    .max(256)
    .describe(
      "The base of the session's turn subjects, sy.v1.tenant.<tenant>.session.<sessionId>.turn: a turn goes to <turnSubject>.<ownerNodeId>.",
    ),
};

export const SessionInfo = z.strictObject({ v: Version, ok: z.literal(true), ...SessionInfoFields });
export type SessionInfo = z.infer<typeof SessionInfo>;

/** The durable record of a session in the ownership KV bucket, updated only by revision compare-and-set. */
export const SessionRecord = z.strictObject({ v: Version, ...SessionInfoFields });
export type SessionRecord = z.infer<typeof SessionRecord>;

/** `sy.v1.tenant.<tenant>.session.<sessionId>.turn.<ownerNodeId>`: one turn, answered by the session's owner. */
export const SessionTurnRequest = z.strictObject({
  v: Version,
  turnKey: IdempotencyKey.describe(
    'Idempotency key of the turn: a retry with the same key is answered from the log, never run twice.',
  ),
  inputTokens: z.int().min(1).max(MAX_TOKENS),
  maxOutputTokens: z.int().min(1).max(MAX_TOKENS),
  prompt: z.string().max(200_000).optional(),
});
export type SessionTurnRequest = z.infer<typeof SessionTurnRequest>;

/** Answer to a turn. */
export const SessionTurnResult = z.strictObject({
  v: Version,
  ok: z.literal(true),
  sessionId: SubjectToken,
  turnKey: IdempotencyKey,
  turn: z.int().min(1).describe('1-based position of this turn in the session log.'),
  nodeId: SubjectToken,
  inputTokens: NonNegativeInt,
  outputTokens: NonNegativeInt,
  contextTokens: NonNegativeInt.describe('Context after this turn.'),
  restoredContextTokens: NonNegativeInt.describe(
    'Context re-prefilled before this turn because the session was restored (moved or offloaded); 0 otherwise.',
  ),
  replayed: z.boolean().describe('True when the turn had already run and this answer comes from the log.'),
  timings: Timings,
  text: z.string().max(100_000).optional().describe('The answer (real model servers; simulated nodes omit it).'),
});
export type SessionTurnResult = z.infer<typeof SessionTurnResult>;

/** `sy.v1.tenant.<tenant>.session.{get,close}` request. */
export const SessionRef = z.strictObject({ v: Version, sessionId: SubjectToken });
export type SessionRef = z.infer<typeof SessionRef>;

/** `sy.v1.tenant.<tenant>.session.list` request. */
export const SessionListRequest = z.strictObject({
  v: Version,
  limit: z.int().min(1).max(500).default(100),
});
export type SessionListRequest = z.infer<typeof SessionListRequest>;

export const SessionListReply = z.strictObject({
  v: Version,
  ok: z.literal(true),
  total: NonNegativeInt,
  sessions: z.array(z.strictObject(SessionInfoFields)),
});
export type SessionListReply = z.infer<typeof SessionListReply>;

/** `sy.v1.node.<nodeId>.session.adopt`: the scheduler makes this node the session's owner. */
export const SessionAdopt = z.strictObject({
  v: Version,
  sessionId: SubjectToken,
  tenant: SubjectToken,
  model: Name,
  ownerRevision: z.int().min(1).describe('KV revision of the ownership record naming this node.'),
  reason: z.enum(['open', 'migrate']),
});
export type SessionAdopt = z.infer<typeof SessionAdopt>;

/** The node's answer to an adopt: it restored the session from the log and serves its turns. */
export const SessionAdoptAck = z.strictObject({
  v: Version,
  ok: z.literal(true),
  sessionId: SubjectToken,
  restoredTurns: NonNegativeInt,
  contextTokens: NonNegativeInt,
});
export type SessionAdoptAck = z.infer<typeof SessionAdoptAck>;

/** `sy.v1.node.<nodeId>.session.release`: stop serving a session (closed or moved away). */
export const SessionRelease = z.strictObject({
  v: Version,
  sessionId: SubjectToken,
  reason: z.enum(['closed', 'migrate']),
});
export type SessionRelease = z.infer<typeof SessionRelease>;

/** One entry of a session's durable turn log (JetStream subject `sy.v1.log.session.<sessionId>`). */
export const SessionLogEntry = z.strictObject({
  v: Version,
  sessionId: SubjectToken,
  turn: z.int().min(1),
  turnKey: IdempotencyKey,
  requestDigest: z
    .string()
    .max(128)
    .describe('Digest of the turn request body: a reused key with another body is a conflict.'),
  nodeId: SubjectToken,
  inputTokens: NonNegativeInt,
  outputTokens: NonNegativeInt,
  contextTokens: NonNegativeInt,
  atMs: EpochMs,
  serviceMs: DurationMs,
  prompt: z.string().max(100_000).optional().describe("The turn's prompt, when it had one (real model servers)."),
  text: z
    .string()
    .max(100_000)
    .optional()
    .describe('The answer: with the prompt, the chat history a new owner replays to a stateless model server.'),
});
export type SessionLogEntry = z.infer<typeof SessionLogEntry>;
