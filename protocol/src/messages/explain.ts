import { z } from 'zod';
import { ErrorCodeSchema, Name, SubjectToken, Version } from './common.js';
import { InferRequest } from './inference.js';
import { ClusterPower } from './power.js';

/**
 * `sy.v1.admin.explain`: how the scheduler would place this request now, without placing it:
 * every candidate with the filter that rejected it or its per-scorer scores and predictions.
 */
export const ExplainRequest = InferRequest.pick({
  v: true,
  model: true,
  inputTokens: true,
  maxOutputTokens: true,
  priority: true,
  sloClass: true,
  region: true,
  deadlineAfterMs: true,
}).extend({
  candidateLimit: z
    .int()
    .min(1)
    .max(500)
    .default(20)
    .describe('Candidates listed, best first then rejections (the reply must fit in one message).'),
});
export type ExplainRequest = z.infer<typeof ExplainRequest>;

/** Predicted timings, energy and power of the request on one node. */
export const PlacementEstimate = z.strictObject({
  coldStart: z.boolean(),
  networkMs: z.number().min(0),
  loadMs: z.number().min(0),
  queueWaitMs: z.number().min(0),
  prefillMs: z.number().min(0),
  ttftMs: z.number().min(0),
  totalMs: z.number().min(0),
  energyJoules: z.number().min(0),
  powerDeltaWatts: z.number().min(0),
});
export type PlacementEstimate = z.infer<typeof PlacementEstimate>;

export const ExplainedCandidate = z.strictObject({
  nodeId: SubjectToken,
  cluster: Name,
  profile: Name,
  rejectedBy: z.string().max(64).optional().describe('The first filter that rejected the node.'),
  scores: z.record(z.string().max(64), z.number().min(0).max(1)).optional().describe('Per scorer, clamped to [0, 1].'),
  total: z.number().min(0).max(1).optional().describe('Weighted, normalised score (what the picker compares).'),
  estimate: PlacementEstimate.optional(),
});
export type ExplainedCandidate = z.infer<typeof ExplainedCandidate>;

export const ExplainReply = z.strictObject({
  v: Version,
  ok: z.literal(true),
  decision: z.discriminatedUnion('ok', [
    z.strictObject({ ok: z.literal(true), nodeId: SubjectToken, score: z.number().min(0).max(1) }),
    z.strictObject({ ok: z.literal(false), code: ErrorCodeSchema, message: z.string().max(2048) }),
  ]),
  pipeline: z.strictObject({
    filters: z.array(z.string().max(64)),
    scorers: z.array(z.strictObject({ name: z.string().max(64), weight: z.number().min(0) })),
    picker: z.string().max(64),
  }),
  candidatesTotal: z.int().min(0),
  candidates: z.array(ExplainedCandidate),
  power: z.array(ClusterPower),
});
export type ExplainReply = z.infer<typeof ExplainReply>;
