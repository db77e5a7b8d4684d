import { z } from 'zod';
import { DurationMs, Name, SubjectToken, Version, Watts } from './common.js';

/**
 * How close a cluster is to its power budget, as the scheduler acts on it (mildest first):
 * `normal`; `steer` — new work prefers other clusters; `defer` — batch work waits; `cap` — node
 * power limits are being lowered to bring measured draw under the budget.
 */
export const POWER_STAGES = ['normal', 'steer', 'defer', 'cap'] as const;
export type PowerStage = (typeof POWER_STAGES)[number];

/** `sy.v1.node.<nodeId>.power`: the scheduler sets the node's power limit (the agent clamps it to what the hardware accepts). */
export const PowerLimitCommand = z.strictObject({
  v: Version,
  limitWatts: Watts.describe('Node-wide power limit to apply; the agent clamps it into the hardware range.'),
  reason: z.string().max(256).describe('Why, for the agent log, e.g. "edge-fra-1 over budget (cap stage)".'),
});
export type PowerLimitCommand = z.infer<typeof PowerLimitCommand>;

/** The agent applied a power limit; `appliedWatts` is after clamping to the hardware range. */
export const PowerLimitAck = z.strictObject({
  v: Version,
  ok: z.literal(true),
  nodeId: SubjectToken,
  appliedWatts: Watts,
});
export type PowerLimitAck = z.infer<typeof PowerLimitAck>;

/** `sy.v1.admin.power.budget`: an operator changes a cluster's power budget at run time (e.g. a grid event). */
export const ClusterBudgetUpdate = z.strictObject({
  v: Version,
  cluster: Name,
  budgetWatts: z.number().min(1).max(1e12).describe('The cluster must stay under this draw.'),
  safetyMargin: z
    .number()
    .min(0)
    .max(0.5)
    .optional()
    .describe('Fraction of the budget kept free for prediction error; unchanged when omitted.'),
});
export type ClusterBudgetUpdate = z.infer<typeof ClusterBudgetUpdate>;

/** One cluster's power as the scheduler accounts it. */
export const ClusterPower = z.strictObject({
  cluster: Name,
  budgetWatts: z.number().min(0).max(1e12),
  safetyMargin: z.number().min(0).max(0.5),
  measuredWatts: z.number().min(0).max(1e12).describe('Σ draw last reported by the cluster’s live nodes.'),
  committedWatts: z
    .number()
    .min(0)
    .max(1e12)
    .describe('Measured plus the predicted draw of work placed since those reports.'),
  stage: z.enum(POWER_STAGES),
});
export type ClusterPower = z.infer<typeof ClusterPower>;

export const ClusterBudgetReply = z.strictObject({
  v: Version,
  ok: z.literal(true),
  power: ClusterPower,
});
export type ClusterBudgetReply = z.infer<typeof ClusterBudgetReply>;

/**
 * `sy.v1.admin.latency`: measured round trips from a client region to a cluster (e.g. a probe's
 * NATS request/reply times). They override the configured latency matrix, smoothed.
 */
export const LatencyReport = z.strictObject({
  v: Version,
  samples: z
    .array(
      z.strictObject({
        region: Name,
        cluster: Name,
        rttMs: DurationMs.max(60_000),
      }),
    )
    .min(1)
    .max(1000),
});
export type LatencyReport = z.infer<typeof LatencyReport>;

export const LatencyReportReply = z.strictObject({
  v: Version,
  ok: z.literal(true),
  applied: z.int().min(0),
});
export type LatencyReportReply = z.infer<typeof LatencyReportReply>;
