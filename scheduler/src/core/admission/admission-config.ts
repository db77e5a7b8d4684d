import { SLO_CLASSES, type SloClass } from '@switchyard/protocol';

/** Limits of one SLO class's admission queue. */
export interface ClassAdmissionConfig {
  /** Requests of the class placed and not yet finished at once, fleet-wide (a positive integer or Infinity). */
  readonly concurrency: number;
  /** Requests of the class waiting at once (for a concurrency slot or for capacity); more are refused OVERLOADED. */
  readonly maxQueued: number;
  /**
   * Longest a request waits in the queue before it is answered: NO_CAPACITY when it waited for
   * room on a node, OVERLOADED when it waited for a slot. Its deadline, if sooner, wins.
   */
  readonly maxWaitMs: number;
}

/** Admission control in front of placement: per-class queues, tenant weights and retry pacing. */
export interface AdmissionConfig {
  readonly classes: Readonly<Record<SloClass, ClassAdmissionConfig>>;
  /** Weighted fair share between tenants inside a class: weight per tenant (default `defaultTenantWeight`). */
  readonly tenantWeights: Readonly<Record<string, number>>;
  readonly defaultTenantWeight: number;
  /** Waiting requests are retried at most this often when capacity may have freed (heartbeats come in floods). */
  readonly minRetryIntervalMs: number;
  /** Half-life of the measured drain rate of each queue. */
  readonly drainHalfLifeMs: number;
  /** Bounds of the `retryAfterMs` hint sent with OVERLOADED and NO_CAPACITY. */
  readonly minRetryAfterMs: number;
  readonly maxRetryAfterMs: number;
  /** How long the fleet's serving shapes (for the KV and deadline checks) are cached when the fleet's size is unchanged. */
  readonly boundsRefreshMs: number;
}

/** What a configuration may say; everything left out takes its default. */
export interface AdmissionConfigInput {
  readonly classes?: Readonly<Partial<Record<SloClass, Partial<ClassAdmissionConfig>>>>;
  readonly tenantWeights?: Readonly<Record<string, number>>;
  readonly defaultTenantWeight?: number;
  readonly minRetryIntervalMs?: number;
  readonly drainHalfLifeMs?: number;
  readonly minRetryAfterMs?: number;
  readonly maxRetryAfterMs?: number;
  readonly boundsRefreshMs?: number;
}

/**
 * Interactive work waits briefly (its TTFT target is about a second); batch work is capped
 * fleet-wide so that it cannot take every slot, and waits a little before it is handed back to
 * its durable queue, which retries it later.
 */
export const DEFAULT_ADMISSION_CONFIG: AdmissionConfig = {
  classes: {
    interactive: { concurrency: Number.POSITIVE_INFINITY, maxQueued: 1_000, maxWaitMs: 1_000 },
    standard: { concurrency: Number.POSITIVE_INFINITY, maxQueued: 2_000, maxWaitMs: 10_000 },
    batch: { concurrency: 512, maxQueued: 1_024, maxWaitMs: 5_000 },
  },
  tenantWeights: {},
  defaultTenantWeight: 1,
  minRetryIntervalMs: 20,
  drainHalfLifeMs: 10_000,
  minRetryAfterMs: 50,
  maxRetryAfterMs: 60_000,
  boundsRefreshMs: 1_000,
};

/** Bad admission configuration; raised at start-up with every problem found. */
export class AdmissionConfigError extends Error {
  override readonly name = 'AdmissionConfigError';
}

const WEEK_MS = 7 * 24 * 3_600_000;

/** Merges `input` over the defaults and checks it; throws AdmissionConfigError listing every problem. */
export function resolveAdmissionConfig(input: AdmissionConfigInput = {}): AdmissionConfig {
  const problems: string[] = [];
  const classes = {} as Record<SloClass, ClassAdmissionConfig>;
  for (const name of Object.keys(input.classes ?? {})) {
    if (!(SLO_CLASSES as readonly string[]).includes(name)) {
      problems.push(`classes.${name}: unknown SLO class (use ${SLO_CLASSES.join(', ')})`);
    }
  }
  for (const sloClass of SLO_CLASSES) {
    const merged = { ...DEFAULT_ADMISSION_CONFIG.classes[sloClass], ...input.classes?.[sloClass] };
    const where = `classes.${sloClass}`;
    if (!(
      merged.concurrency === Number.POSITIVE_INFINITY ||
      (Number.isInteger(merged.concurrency) && merged.concurrency >= 1)
    )) {
      problems.push(`${where}.concurrency must be a positive integer or Infinity, got ${merged.concurrency}`);
    }
    if (!(Number.isInteger(merged.maxQueued) && merged.maxQueued >= 0)) {
      problems.push(`${where}.maxQueued must be an integer ≥ 0, got ${merged.maxQueued}`);
    }
    checkDuration(problems, `${where}.maxWaitMs`, merged.maxWaitMs, 0);
    classes[sloClass] = merged;
  }
  const config: AdmissionConfig = {
    ...DEFAULT_ADMISSION_CONFIG,
    ...input,
    classes,
    tenantWeights: { ...input.tenantWeights },
  };
  if (!isPositive(config.defaultTenantWeight)) {
    problems.push(`defaultTenantWeight must be a positive number, got ${config.defaultTenantWeight}`);
  }
  for (const [tenant, weight] of Object.entries(config.tenantWeights)) {
    if (!isPositive(weight)) problems.push(`tenantWeights.${tenant} must be a positive number, got ${weight}`);
  }
  checkDuration(problems, 'minRetryIntervalMs', config.minRetryIntervalMs, 0);
  checkDuration(problems, 'drainHalfLifeMs', config.drainHalfLifeMs, 1);
  checkDuration(problems, 'minRetryAfterMs', config.minRetryAfterMs, 0);
  checkDuration(problems, 'maxRetryAfterMs', config.maxRetryAfterMs, 0);
  checkDuration(problems, 'boundsRefreshMs', config.boundsRefreshMs, 0);
  if (config.minRetryAfterMs > config.maxRetryAfterMs) {
    problems.push(
      `minRetryAfterMs (${config.minRetryAfterMs}) must not exceed maxRetryAfterMs (${config.maxRetryAfterMs})`,
    );
  }
  if (problems.length > 0) throw new AdmissionConfigError(`invalid admission config: ${problems.join('; ')}`);
  return config;
}

function isPositive(value: number): boolean {
  return value > 0 && Number.isFinite(value);
}

function checkDuration(problems: string[], name: string, value: number, min: number): void {
  if (!(typeof value === 'number' && value >= min && value <= WEEK_MS)) {
    problems.push(`${name} must be a number of ms between ${min} and ${WEEK_MS}, got ${value}`);
  }
}
