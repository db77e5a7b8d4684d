import { z } from 'zod';
import { Name } from './messages/common.js';

/**
 * The topology file an operator gives the scheduler (`--topology file.json`): clusters with a
 * location and power budget, client regions with round trips to clusters, and optionally the
 * power stage thresholds. Validated like any message crossing a process boundary.
 */
export const TopologyConfig = z.strictObject({
  clusters: z
    .array(
      z.strictObject({
        name: Name,
        location: z.string().max(256).default(''),
        powerBudgetWatts: z.number().positive().max(1e12).describe('The cluster must stay under this draw.'),
        safetyMargin: z
          .number()
          .min(0)
          .max(0.5)
          .default(0.05)
          .describe('Fraction of the budget kept free for prediction error.'),
      }),
    )
    .max(10_000),
  regions: z
    .array(
      z.strictObject({
        name: Name,
        latencyMs: z
          .record(Name, z.number().min(0).max(60_000))
          .describe('Round trip from the region to each cluster, in ms; measured round trips override these.'),
      }),
    )
    .max(10_000)
    .default([]),
  unlistedLatencyMs: z
    .number()
    .min(0)
    .max(60_000)
    .default(250)
    .describe('Round trip assumed from a region to a cluster its row does not list.'),
  powerThresholds: z
    .strictObject({
      steerAt: z.number().positive().max(2),
      deferAt: z.number().positive().max(2),
      capAt: z.number().positive().max(2),
      releaseAt: z.number().positive().max(2),
    })
    .optional()
    .describe('Shares of the usable budget at which the power stages begin.'),
});
export type TopologyConfig = z.infer<typeof TopologyConfig>;

/**
 * A fleet to simulate (`switchyard plan`, the capacity simulator): the topology file's clusters and
 * regions plus the nodes in them, by group. Profile and model names are checked against the
 * catalogue by the simulator, which names the group.
 */
export const FleetSpecConfig = TopologyConfig.extend({
  nodes: z
    .array(
      z.strictObject({
        cluster: Name,
        profile: Name.describe('Accelerator profile, e.g. h100, trn2, l4.'),
        count: z.number().int().min(1).max(100_000),
        models: z.array(Name).max(64).describe('Models resident at start.'),
        chips: z.number().int().min(1).max(256).optional(),
        maxBatchSize: z.number().int().min(1).max(65_536).optional(),
      }),
    )
    .min(1)
    .max(10_000),
}).superRefine((spec, ctx) => {
  const clusters = new Set(spec.clusters.map((c) => c.name));
  spec.nodes.forEach((group, i) => {
    if (!clusters.has(group.cluster)) {
      ctx.addIssue({
        code: 'custom',
        path: ['nodes', i, 'cluster'],
        message: `cluster ${JSON.stringify(group.cluster)} is not among the clusters`,
      });
    }
  });
  const total = spec.nodes.reduce((sum, group) => sum + group.count, 0);
  if (total > 200_000) {
    ctx.addIssue({ code: 'custom', path: ['nodes'], message: `${total} nodes in all; at most 200000` });
  }
});
export type FleetSpecConfig = z.infer<typeof FleetSpecConfig>;

/** Parses and validates a fleet spec file's text; throws ConfigError naming the file and every problem. */
export function parseFleetSpec(text: string, source = 'fleet'): FleetSpecConfig {
  return parseJsonConfig(FleetSpecConfig, text, source);
}

/** A configuration file that cannot be used; the message says what and where. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses a JSON configuration text against its schema; throws ConfigError naming `source` and every problem. */
export function parseJsonConfig<T>(schema: z.ZodType<T>, text: string, source: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${source}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`${source}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Parses and validates a topology file's text; throws ConfigError naming the file and every problem. */
export function parseTopologyConfig(text: string, source = 'topology'): TopologyConfig {
  return parseJsonConfig(TopologyConfig, text, source);
}

const TenantLimitsFields = {
  maxSessions: z.int().min(1).max(10_000_000).describe('Open sessions at once.'),
  maxConcurrentRequests: z.int().min(1).max(10_000_000).describe('Inference requests accepted and not yet answered.'),
  tokensPerMinute: z.int().min(1).max(1e12).describe('Input plus maximum output tokens admitted per minute.'),
  requestsPerSecond: z.number().gt(0).max(1e7).describe('Sustained rate of requests (and session opens).'),
  burstRequests: z.int().min(1).max(1e7).describe('Requests allowed at once above the sustained rate.'),
};

/** A tenant quota file (`switchyard scheduler --tenant-quotas`): defaults for every tenant, and overrides. */
export const TenantQuotasConfig = z.strictObject({
  defaults: z.strictObject(TenantLimitsFields),
  tenants: z
    .record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/), z.strictObject(TenantLimitsFields).partial())
    .optional()
    .describe('Per-tenant overrides of some limits, by tenant id.'),
});
export type TenantQuotasConfig = z.infer<typeof TenantQuotasConfig>;

/** Parses and validates a tenant quota file; throws ConfigError naming the file and every problem. */
export function parseTenantQuotasConfig(text: string, source = 'tenant quotas'): TenantQuotasConfig {
  return parseJsonConfig(TenantQuotasConfig, text, source);
}
