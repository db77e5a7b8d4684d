import { type ErrorReply, errorReply } from '@switchyard/protocol';

/** What one tenant may use. Every limit is per scheduler (the leader admits everything). */
export interface TenantLimits {
  /** Open sessions at once. */
  readonly maxSessions: number;
  /** Inference requests accepted and not yet answered. */
  readonly maxConcurrentRequests: number;
  /** Input plus maximum output tokens admitted per minute (a token bucket holding a minute's worth). */
  readonly tokensPerMinute: number;
  /** Sustained request rate (requests, session opens and each durable batch item count one). */
  readonly requestsPerSecond: number;
  /** Requests allowed at once above the sustained rate. */
  readonly burstRequests: number;
}

/** Some limits of one tenant; the others are the defaults. */
export type TenantOverrides = { readonly [K in keyof TenantLimits]?: TenantLimits[K] | undefined };

export interface TenantQuotaConfig {
  readonly defaults: TenantLimits;
  /** Per-tenant overrides of some limits. */
  readonly tenants?: Readonly<Record<string, TenantOverrides>> | undefined;
}

/** Generous enough that only a runaway client meets them; set real ones per deployment. */
export const DEFAULT_TENANT_LIMITS: TenantLimits = {
  maxSessions: 10_000,
  maxConcurrentRequests: 10_000,
  tokensPerMinute: 100_000_000,
  requestsPerSecond: 10_000,
  burstRequests: 20_000,
};

/**
 * `QUOTA_EXCEEDED`: the tenant holds all it may (concurrent requests, sessions) and must finish
 * some first. `RATE_LIMITED`: it sent too much too fast; `retryAfterMs` says when the bucket has
 * room again.
 */
export type QuotaVerdict =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly code: 'QUOTA_EXCEEDED' | 'RATE_LIMITED';
      readonly message: string;
      readonly retryAfterMs?: number;
      /** Set when waiting helps although the code alone says otherwise (concurrent requests free up). */
      readonly retryable?: boolean;
    };

/** The typed answer to a client refused by a quota: its code, message and when to try again. */
export function quotaRefusal(verdict: Extract<QuotaVerdict, { ok: false }>): ErrorReply {
  return errorReply(verdict.code, verdict.message, {
    ...(verdict.retryAfterMs === undefined ? {} : { retryAfterMs: verdict.retryAfterMs }),
    ...(verdict.retryable === undefined ? {} : { retryable: verdict.retryable }),
  });
}

interface Buckets {
  requests: number;
  tokens: number;
  atMs: number;
}

/** Tenants idle this long lose their buckets (full again when they come back), so the map stays bounded. */
const FORGET_IDLE_MS = 10 * 60_000;

/**
 * Per-tenant quotas and rate limits, judged at admission. Pure: the clock is injected and nothing
 * here does I/O; counts of what a tenant holds come from the caller (the request ledger, the
 * session registry), so there is one source of truth for each.
 */
export class TenantQuotas {
  private readonly buckets = new Map<string, Buckets>();
  private lastSweepMs = 0;

  constructor(
    private readonly config: TenantQuotaConfig,
    private readonly clock: () => number,
  ) {
    validateTenantQuotaConfig(config);
  }

  limitsOf(tenant: string): TenantLimits {
    const override = this.config.tenants?.[tenant];
    if (override === undefined) return this.config.defaults;
    const defined = Object.entries(override).filter(([, value]) => value !== undefined);
    return { ...this.config.defaults, ...Object.fromEntries(defined) };
  }

  /** A new inference request of `tokens` (input + max output) while the tenant holds `openRequests`. */
  judgeRequest(tenant: string, openRequests: number, tokens: number): QuotaVerdict {
    const limits = this.limitsOf(tenant);
    if (openRequests >= limits.maxConcurrentRequests) {
      // Retryable: requests finish and free the quota (durable batch items are retried, not failed).
      return {
        ok: false,
        code: 'QUOTA_EXCEEDED',
        message: `tenant ${tenant} has ${openRequests} requests open, its quota of concurrent requests`,
        retryAfterMs: 1000,
        retryable: true,
      };
    }
    return this.take(tenant, limits, tokens);
  }

  /** A new session while the tenant holds `openSessions`. */
  judgeSession(tenant: string, openSessions: number): QuotaVerdict {
    const limits = this.limitsOf(tenant);
    if (openSessions >= limits.maxSessions) {
      return {
        ok: false,
        code: 'QUOTA_EXCEEDED',
        message: `tenant ${tenant} has ${openSessions} open sessions, its quota`,
      };
    }
    return this.take(tenant, limits, 0);
  }

  /**
   * A batch submission: one request from the tenant's request rate (its items are judged one by one
   * as they run, and wait on RATE_LIMITED), so a tenant cannot flood the durable queue with batches.
   */
  judgeBatchSubmission(tenant: string): QuotaVerdict {
    return this.take(tenant, this.limitsOf(tenant), 0);
  }

  /** Tenants with buckets (bounded: idle tenants are forgotten). */
  get trackedTenants(): number {
    return this.buckets.size;
  }

  /** Takes one request and `tokens` from the tenant's buckets, or says when they will have room. */
  private take(tenant: string, limits: TenantLimits, tokens: number): QuotaVerdict {
    const nowMs = this.clock();
    this.sweep(nowMs);
    const tokenCapacity = limits.tokensPerMinute;
    if (tokens > tokenCapacity) {
      return {
        ok: false,
        code: 'QUOTA_EXCEEDED',
        message: `the request asks for ${tokens} tokens, more than tenant ${tenant}'s ${tokenCapacity} per minute`,
      };
    }
    const bucket = this.buckets.get(tenant) ?? { requests: limits.burstRequests, tokens: tokenCapacity, atMs: nowMs };
    const elapsedMs = Math.max(0, nowMs - bucket.atMs);
    bucket.requests = Math.min(limits.burstRequests, bucket.requests + (elapsedMs * limits.requestsPerSecond) / 1000);
    bucket.tokens = Math.min(tokenCapacity, bucket.tokens + (elapsedMs * tokenCapacity) / 60_000);
    bucket.atMs = nowMs;
    this.buckets.set(tenant, bucket);
    if (bucket.requests < 1) {
      return {
        ok: false,
        code: 'RATE_LIMITED',
        message: `tenant ${tenant} is over its ${limits.requestsPerSecond} requests per second`,
        retryAfterMs: Math.ceil(((1 - bucket.requests) * 1000) / limits.requestsPerSecond),
      };
    }
    if (bucket.tokens < tokens) {
      return {
        ok: false,
        code: 'RATE_LIMITED',
        message: `tenant ${tenant} is over its ${tokenCapacity} tokens per minute`,
        retryAfterMs: Math.ceil(((tokens - bucket.tokens) * 60_000) / tokenCapacity),
      };
    }
    bucket.requests -= 1;
    bucket.tokens -= tokens;
    return { ok: true };
  }

  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweepMs < FORGET_IDLE_MS) return;
    this.lastSweepMs = nowMs;
    for (const [tenant, bucket] of this.buckets) if (nowMs - bucket.atMs >= FORGET_IDLE_MS) this.buckets.delete(tenant);
  }
}

/** Throws RangeError naming the first limit that is not a positive number. */
export function validateTenantQuotaConfig(config: TenantQuotaConfig): TenantQuotaConfig {
  validateLimits('defaults', config.defaults);
  for (const [tenant, limits] of Object.entries(config.tenants ?? {})) validateLimits(tenant, limits);
  return config;
}

function validateLimits(owner: string, limits: TenantOverrides): void {
  for (const [name, value] of Object.entries(limits)) {
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new RangeError(`tenant quota ${owner}.${name} must be a positive number, got ${String(value)}`);
    }
  }
}
