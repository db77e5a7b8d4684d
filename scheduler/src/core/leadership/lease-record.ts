/**
 * Leader election over a lease record that anyone may overwrite by optimistic concurrency (a
 * Kubernetes `coordination.k8s.io` Lease), decided the way client-go's `leaderelection` package
 * decides it (tryAcquireOrRenew), so that Switchyard and client-go controllers behave alike:
 *
 * - expiry is judged only on this process's clock: a record counts as renewed when this process
 *   *saw it change*, never by comparing the renewTime written on another machine's clock;
 * - a record held by someone else is left alone until `leaseDurationMs` after it last changed;
 * - taking over increments `transitions`; renewing one's own record keeps it and the acquire time;
 * - an empty holder means released: anyone may take it at once.
 */

/** The fields of a lease this election reads and writes. */
export interface LeaseRecord {
  /** Empty: nobody holds it (released). */
  readonly holder: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTimeMs: number;
  readonly renewTimeMs: number;
  readonly transitions: number;
}

/** What to do with the record just read. */
export type LeaseDecision =
  | { readonly kind: 'held-by-other'; readonly holder: string; readonly expiresInMs: number }
  | { readonly kind: 'write'; readonly record: LeaseRecord; readonly takeover: boolean };

function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    a.holder === b.holder &&
    a.renewTimeMs === b.renewTimeMs &&
    a.acquireTimeMs === b.acquireTimeMs &&
    a.transitions === b.transitions &&
    a.leaseDurationSeconds === b.leaseDurationSeconds
  );
}

/** Remembers when this process last saw the record change, and decides each attempt. */
export class LeaseObserver {
  private observed: LeaseRecord | undefined;
  private observedAtMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly identity: string,
    readonly leaseDurationMs: number,
  ) {
    if (identity === '') throw new RangeError('a lease candidate needs a non-empty identity');
    if (!(leaseDurationMs >= 1000))
      throw new RangeError(`leaseDurationMs must be at least 1000, got ${leaseDurationMs}`);
  }

  /** The lease duration as written into the record (whole seconds, as the API wants). */
  get leaseDurationSeconds(): number {
    return Math.ceil(this.leaseDurationMs / 1000);
  }

  /** The record to create when there is none. */
  initialRecord(nowMs: number): LeaseRecord {
    return {
      holder: this.identity,
      leaseDurationSeconds: this.leaseDurationSeconds,
      acquireTimeMs: nowMs,
      renewTimeMs: nowMs,
      transitions: 0,
    };
  }

  /** Decides what to do with `current`, read at `nowMs`. */
  decide(current: LeaseRecord, nowMs: number): LeaseDecision {
    if (this.observed === undefined || !sameRecord(this.observed, current)) {
      this.observed = current;
      this.observedAtMs = nowMs;
    }
    const mine = current.holder === this.identity;
    if (current.holder !== '' && !mine) {
      const expiresInMs = this.observedAtMs + this.leaseDurationMs - nowMs;
      if (expiresInMs > 0) return { kind: 'held-by-other', holder: current.holder, expiresInMs };
    }
    return {
      kind: 'write',
      takeover: !mine,
      record: {
        holder: this.identity,
        leaseDurationSeconds: this.leaseDurationSeconds,
        acquireTimeMs: mine ? current.acquireTimeMs : nowMs,
        renewTimeMs: nowMs,
        transitions: mine ? current.transitions : current.transitions + 1,
      },
    };
  }

  /** The write of `record` succeeded at `nowMs`: that is now the last change seen. */
  wrote(record: LeaseRecord, nowMs: number): void {
    this.observed = record;
    this.observedAtMs = nowMs;
  }

  /** The record that releases a lease this process holds: empty holder, so a standby takes it at once. */
  releaseRecord(current: LeaseRecord, nowMs: number): LeaseRecord | undefined {
    if (current.holder !== this.identity) return undefined;
    return {
      holder: '',
      leaseDurationSeconds: 1,
      acquireTimeMs: nowMs,
      renewTimeMs: nowMs,
      transitions: current.transitions,
    };
  }
}

/** The timings of an election; client-go's defaults (15 s, 10 s, 2 s) unless set. */
export interface LeaseTimings {
  /** How long a standby waits after the record last changed before taking over. */
  readonly leaseDurationMs: number;
  /** A leader that has not renewed for this long stops serving (before anyone may take over). */
  readonly renewDeadlineMs: number;
  /** How often candidates try and the leader renews. */
  readonly retryPeriodMs: number;
}

export const CLIENT_GO_LEASE_TIMINGS: LeaseTimings = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/** client-go's jitter on the retry period of candidates (wait.JitterUntil with factor 1.2). */
export const LEASE_RETRY_JITTER = 1.2;

/** Refuses timings under which two leaders could serve at once (client-go's own checks). */
export function validateLeaseTimings(timings: LeaseTimings): LeaseTimings {
  const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = timings;
  if (!(retryPeriodMs > 0)) throw new RangeError(`retryPeriodMs must be positive, got ${retryPeriodMs}`);
  if (!(leaseDurationMs > renewDeadlineMs)) {
    throw new RangeError(
      `leaseDurationMs (${leaseDurationMs}) must be greater than renewDeadlineMs (${renewDeadlineMs})`,
    );
  }
  if (!(renewDeadlineMs > LEASE_RETRY_JITTER * retryPeriodMs)) {
    throw new RangeError(
      `renewDeadlineMs (${renewDeadlineMs}) must be greater than ${LEASE_RETRY_JITTER} × retryPeriodMs (${retryPeriodMs})`,
    );
  }
  return timings;
}
