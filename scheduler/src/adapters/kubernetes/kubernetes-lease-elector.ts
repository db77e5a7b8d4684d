import { ApiException, type CoordinationV1Api, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { type LeaderElection, type LeadershipListener, LeadershipTerms } from '../../core/leadership/leadership.js';
import {
  CLIENT_GO_LEASE_TIMINGS,
  LEASE_RETRY_JITTER,
  type LeaseDecision,
  LeaseObserver,
  type LeaseRecord,
  type LeaseTimings,
  validateLeaseTimings,
} from '../../core/leadership/lease-record.js';
import type { Logger } from '../../service/ports.js';

/** Where the Lease lives and who this candidate is. */
export interface KubernetesLeaseConfig {
  readonly namespace: string;
  readonly name: string;
  /** This scheduler's identity in `spec.holderIdentity` (its pod name in a cluster). */
  readonly identity: string;
  readonly timings?: LeaseTimings;
}

type Attempt =
  | { readonly ok: true; readonly record: LeaseRecord }
  | { readonly ok: false; readonly why: string; readonly heldBy?: string };

/**
 * Leader election through a `coordination.k8s.io/v1` Lease, as client-go's `leaderelection` does
 * it (client-node has no such helper): every candidate reads the Lease each retry period and takes
 * it over, by an update carrying the read `resourceVersion`, once it has seen no renewal for a
 * lease duration; the API server's optimistic concurrency (409 Conflict) decides every race. The
 * leader renews each retry period and stops serving when it has not managed to for the renew
 * deadline, which is shorter than the lease, so it has stopped before anyone may take over. On
 * stop the leader releases the Lease (empty holder) after it has stopped serving, so a standby
 * takes over within one retry period instead of a lease duration.
 */
export class KubernetesLeaseElector implements LeaderElection {
  readonly kind = 'kubernetes-lease' as const;
  private readonly observer: LeaseObserver;
  private readonly timings: LeaseTimings;
  private timer: NodeJS.Timeout | undefined;
  private running = true;
  private busy: Promise<void> | undefined;
  private lastRenewMs = Number.NEGATIVE_INFINITY;
  /** A term is starting to serve (or failing to, and stopping): no new attempt meanwhile. */
  private starting = false;
  /** After a start that failed: no campaigning until then, so that a standby can win. */
  private standAsideUntilMs = Number.NEGATIVE_INFINITY;
  private readonly terms: LeadershipTerms;

  private constructor(
    private readonly api: CoordinationV1Api,
    private readonly config: KubernetesLeaseConfig,
    listener: LeadershipListener,
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly random: () => number,
  ) {
    this.timings = validateLeaseTimings(config.timings ?? CLIENT_GO_LEASE_TIMINGS);
    this.observer = new LeaseObserver(config.identity, this.timings.leaseDurationMs);
    this.terms = new LeadershipTerms(listener, log);
  }

  /** Starts campaigning; resolves after the first attempt (elected or not) and, if elected, once serving has started. */
  static async start(
    api: CoordinationV1Api,
    config: KubernetesLeaseConfig,
    listener: LeadershipListener,
    log: Logger,
    now: () => number = Date.now,
    random: () => number = Math.random,
  ): Promise<KubernetesLeaseElector> {
    const elector = new KubernetesLeaseElector(api, config, listener, log, now, random);
    await elector.tick();
    await elector.terms.started();
    return elector;
  }

  get isLeader(): boolean {
    return this.terms.isLeader;
  }

  get currentTerm(): number {
    return this.terms.currentTerm;
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.busy;
    if (!this.terms.isLeader) return;
    await this.stepDown('stopping');
    await this.release();
  }

  private schedule(): void {
    if (!this.running) return;
    const { retryPeriodMs } = this.timings;
    // Candidates spread their polls as client-go does; the leader renews on the period itself.
    const delayMs = this.terms.isLeader
      ? retryPeriodMs
      : retryPeriodMs * (1 + (LEASE_RETRY_JITTER - 1) * this.random());
    this.timer = setTimeout(() => void this.tick(), delayMs);
  }

  private tick(): Promise<void> {
    this.busy ??= this.attemptOnce().finally(() => {
      this.busy = undefined;
      this.schedule();
    });
    return this.busy;
  }

  private async attemptOnce(): Promise<void> {
    const startedMs = this.now();
    if (!this.terms.isLeader && (this.starting || startedMs < this.standAsideUntilMs)) return;
    // A call that hangs must not keep a leader serving past its deadline.
    const attempt = await withTimeout(this.tryAcquireOrRenew(startedMs), this.callTimeoutMs(startedMs));
    if (!this.running) return;
    if (attempt.ok) {
      this.lastRenewMs = startedMs;
      if (!this.terms.isLeader) this.becomeLeader(attempt.record);
      return;
    }
    if (this.terms.isLeader && attempt.heldBy !== undefined) {
      await this.stepDown(`the lease was taken over by ${attempt.heldBy}`);
    } else if (this.terms.isLeader) {
      const silentMs = this.now() - this.lastRenewMs;
      if (silentMs >= this.timings.renewDeadlineMs) {
        await this.stepDown(`could not renew the lease for ${silentMs} ms: ${attempt.why}`);
      } else {
        this.log.warn({ why: attempt.why, silentMs }, 'leader lease: renewal failed, retrying');
      }
    } else if (attempt.heldBy === undefined) {
      this.log.warn({ why: attempt.why }, 'leader lease: attempt failed');
    }
  }

  /** A leader waits at most until its renew deadline; a candidate at most a retry period. */
  private callTimeoutMs(nowMs: number): number {
    if (!this.terms.isLeader) return this.timings.retryPeriodMs;
    return Math.max(1, this.lastRenewMs + this.timings.renewDeadlineMs - nowMs);
  }

  private async tryAcquireOrRenew(nowMs: number): Promise<Attempt> {
    const { namespace, name } = this.config;
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ namespace, name });
    } catch (err) {
      if (statusOf(err) !== 404) return { ok: false, why: `reading the lease: ${describe(err)}` };
      const record = this.observer.initialRecord(nowMs);
      try {
        await this.api.createNamespacedLease({ namespace, body: leaseObject(this.config, record) });
      } catch (createErr) {
        return { ok: false, why: `creating the lease: ${describe(createErr)}` };
      }
      this.observer.wrote(record, nowMs);
      return { ok: true, record };
    }
    const decision: LeaseDecision = this.observer.decide(recordOf(lease), nowMs);
    if (decision.kind === 'held-by-other') {
      return { ok: false, why: `held by ${decision.holder}`, heldBy: decision.holder };
    }
    try {
      await this.api.replaceNamespacedLease({
        namespace,
        name,
        body: leaseObject(this.config, decision.record, lease.metadata?.resourceVersion),
      });
    } catch (err) {
      return { ok: false, why: `${decision.takeover ? 'taking over' : 'renewing'} the lease: ${describe(err)}` };
    }
    this.observer.wrote(decision.record, nowMs);
    return { ok: true, record: decision.record };
  }

  /** Serving starts beside the renewals: a start longer than the renew deadline does not cost the lease. */
  private becomeLeader(record: LeaseRecord): void {
    this.starting = true;
    void this.terms
      .begin(record.transitions + 1, { lease: `${this.config.namespace}/${this.config.name}` })
      .then(async (started) => {
        this.starting = false;
        if (started || !this.running) return;
        // Serving could not start here: give the Lease back and stand aside for a lease duration,
        // so a standby takes over instead of this scheduler holding the Lease while failing.
        this.standAsideUntilMs = this.now() + this.timings.leaseDurationMs;
        await this.release();
      });
  }

  private stepDown(reason: string): Promise<void> {
    return this.terms.end(reason);
  }

  /** Hands the Lease back (empty holder) if it is still ours, so a standby need not wait it out. */
  private async release(): Promise<void> {
    const { namespace, name } = this.config;
    try {
      const lease = await this.api.readNamespacedLease({ namespace, name });
      const released = this.observer.releaseRecord(recordOf(lease), this.now());
      if (released === undefined) return;
      await this.api.replaceNamespacedLease({
        namespace,
        name,
        body: leaseObject(this.config, released, lease.metadata?.resourceVersion),
      });
      this.log.info({ lease: `${namespace}/${name}` }, 'leader lease released');
    } catch (err) {
      this.log.warn({ err: describe(err) }, 'leader lease: could not release; a standby takes over when it expires');
    }
  }
}

/** Reads a Lease's spec; absent fields read as a released lease (as client-go does). */
function recordOf(lease: V1Lease): LeaseRecord {
  const spec = lease.spec ?? {};
  return {
    holder: spec.holderIdentity ?? '',
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTimeMs: spec.acquireTime === undefined ? 0 : new Date(spec.acquireTime).getTime(),
    renewTimeMs: spec.renewTime === undefined ? 0 : new Date(spec.renewTime).getTime(),
    transitions: spec.leaseTransitions ?? 0,
  };
}

function leaseObject(config: KubernetesLeaseConfig, record: LeaseRecord, resourceVersion?: string): V1Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: config.name,
      namespace: config.namespace,
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
    },
    spec: {
      holderIdentity: record.holder,
      leaseDurationSeconds: record.leaseDurationSeconds,
      // MicroTime: the API server wants six fractional digits, which a plain Date does not give.
      acquireTime: new V1MicroTime(record.acquireTimeMs),
      renewTime: new V1MicroTime(record.renewTimeMs),
      leaseTransitions: record.transitions,
    },
  };
}

function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** An API error as one line: its HTTP status and the Status message, never a request header. */
function describe(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = err.body;
    const parsed = typeof body === 'string' ? safeJson(body) : body;
    const message =
      typeof parsed === 'object' && parsed !== null && 'message' in parsed && typeof parsed.message === 'string'
        ? parsed.message
        : `HTTP ${err.code}`;
    return `${err.code} ${message}`;
  }
  return err instanceof Error ? err.message : String(err);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const TIMED_OUT: Attempt = { ok: false, why: 'the API server did not answer in time' };

function withTimeout(attempt: Promise<Attempt>, timeoutMs: number): Promise<Attempt> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Attempt>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs);
  });
  return Promise.race([attempt, timeout]).finally(() => clearTimeout(timer));
}
