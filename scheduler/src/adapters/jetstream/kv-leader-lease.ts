import { StorageType } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { decode, encode, LEADER_KV_BUCKET, LEADER_KV_KEY, LeaderLease } from '@switchyard/protocol';
import { type LeaderElection, type LeadershipListener, LeadershipTerms } from '../../core/leadership/leadership.js';
import { LeaseClock } from '../../core/leadership/lease-clock.js';
import type { Logger } from '../../service/ports.js';

/**
 * Leader election by a lease in NATS KV (see docs/protocol.md, section 13): renew or claim every
 * third of the lease by revision compare-and-set; step down on a refused renewal or a lease gone
 * unrenewed. No home-made consensus: the KV's compare-and-set decides every contest.
 */
export class KvLeaderLease implements LeaderElection {
  readonly kind = 'nats-kv' as const;
  private readonly clock: LeaseClock;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private revision = 0;
  private lastRenewAttemptMs = Number.NEGATIVE_INFINITY;
  private readonly terms: LeadershipTerms;

  private constructor(
    private readonly kv: KV,
    private readonly schedulerId: string,
    private readonly leaseMs: number,
    listener: LeadershipListener,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    this.clock = new LeaseClock(leaseMs);
    this.terms = new LeadershipTerms(listener, log);
  }

  static async start(
    nc: NatsConnection,
    schedulerId: string,
    leaseMs: number,
    listener: LeadershipListener,
    log: Logger,
    now: () => number = Date.now,
  ): Promise<KvLeaderLease> {
    const kv = await new Kvm(nc).create(LEADER_KV_BUCKET, { history: 1, storage: StorageType.File });
    const lease = new KvLeaderLease(kv, schedulerId, leaseMs, listener, log, now);
    // Poll at the standby's pace; a leader renews on every other tick (a quarter lease).
    lease.timer = setInterval(() => void lease.tick(), Math.max(25, Math.floor(lease.clock.pollIntervalMs)));
    await lease.tick();
    await lease.terms.started();
    return lease;
  }

  get isLeader(): boolean {
    return this.terms.isLeader;
  }

  get currentTerm(): number {
    return this.terms.currentTerm;
  }

  /** Stops renewing; a leader steps down (its lease then lapses for a standby to claim). */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    while (this.busy) await new Promise((resolve) => setTimeout(resolve, 10));
    if (this.terms.isLeader) await this.stepDown('stopping');
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      if (this.terms.isLeader) {
        if (this.now() - this.lastRenewAttemptMs >= this.clock.renewIntervalMs) await this.renew();
        else if (this.clock.expiredForLeader(this.now())) await this.stepDown('lease not renewed in time');
      } else {
        await this.maybeClaim();
      }
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'leader lease: KV unavailable');
      if (this.terms.isLeader && this.clock.expiredForLeader(this.now()))
        await this.stepDown('lease not renewed in time');
    } finally {
      this.busy = false;
    }
  }

  private value(term: number): Uint8Array {
    return encode({ v: 1, holder: this.schedulerId, term, leaseMs: this.leaseMs } satisfies LeaderLease);
  }

  private async renew(): Promise<void> {
    if (this.clock.expiredForLeader(this.now())) {
      await this.stepDown('lease not renewed in time');
      return;
    }
    const sentAtMs = this.now();
    this.lastRenewAttemptMs = sentAtMs;
    try {
      this.revision = await this.kv.update(LEADER_KV_KEY, this.value(this.terms.currentTerm), this.revision);
      // Stamped when sent: the write may have landed any time after, so count from the earliest.
      this.clock.renewed(sentAtMs, this.revision);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (/wrong last sequence/i.test(message)) await this.stepDown('another scheduler holds the lease');
      else throw err;
    }
  }

  private async maybeClaim(): Promise<void> {
    const entry = await this.kv.get(LEADER_KV_KEY);
    const present = entry !== null && entry.operation === 'PUT';
    this.clock.observe(present ? entry.revision : undefined, this.now());
    if (!this.clock.claimable(this.now())) return;
    let previousTerm = 0;
    if (present) {
      const decoded = decode(LeaderLease, entry.value);
      previousTerm = decoded.ok ? decoded.value.term : 0;
    }
    const term = previousTerm + 1;
    try {
      this.revision = present
        ? await this.kv.update(LEADER_KV_KEY, this.value(term), entry.revision)
        : await this.kv.create(LEADER_KV_KEY, this.value(term));
    } catch {
      return; // another standby won this round
    }
    this.clock.renewed(this.now(), this.revision);
    // Serving starts beside the renewals (the next ticks): a long start does not cost the lease.
    void this.terms.begin(term);
  }

  private stepDown(reason: string): Promise<void> {
    return this.terms.end(reason);
  }
}
