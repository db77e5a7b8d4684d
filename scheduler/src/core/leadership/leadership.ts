/** What a leader election tells its owner. Called one at a time, never concurrently. */
export interface LeadershipListener {
  elected(term: number): Promise<void>;
  deposed(reason: string): Promise<void>;
}

/**
 * One way of electing the serving scheduler among several: a NATS KV lease outside Kubernetes, a
 * `coordination.k8s.io` Lease inside. Both call their listener and report the same way.
 */
export interface LeaderElection {
  /** Which mechanism decides: shown in logs and on /readyz. */
  readonly kind: 'nats-kv' | 'kubernetes-lease';
  readonly isLeader: boolean;
  /** Stops campaigning; a leader steps down and releases the lease so a standby takes over at once. */
  stop(): Promise<void>;
}

/** Where leadership changes are logged (pino's shape). */
interface LeadershipLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/**
 * Whether this scheduler leads, and in which term, with the listener told of every change exactly
 * once and in order. Shared by the elections: they decide when; this keeps the bookkeeping.
 */
export class LeadershipTerms {
  private leading = false;
  private term = 0;
  /** The listener's `elected` of the latest term (settles true when serving started). */
  private starting: Promise<boolean> = Promise.resolve(false);
  /** Every listener call runs on this chain: one at a time, in the order of the changes. */
  private calls: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly listener: LeadershipListener,
    private readonly log: LeadershipLog,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  get currentTerm(): number {
    return this.term;
  }

  /**
   * Won the election for `term`: start serving. Leading from this call on, so the election keeps
   * renewing while serving starts (loading sessions may outlast a renew deadline). Resolves false
   * when serving could not start (then no longer leading).
   */
  begin(term: number, fields: object = {}): Promise<boolean> {
    this.term = term;
    this.leading = true;
    this.log.info({ term, ...fields }, 'elected leader');
    this.starting = this.inTurn(() => this.startServing(term));
    return this.starting;
  }

  /** Settles once the latest term has started serving (or failed to): at once when none is starting. */
  async started(): Promise<void> {
    await this.starting;
  }

  /** Stop serving (idempotent). A term still starting finishes starting first. */
  async end(reason: string): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    this.log.warn({ term: this.term, reason }, 'no longer leader');
    const starting = this.starting;
    await this.inTurn(async () => {
      // A start that failed has already stopped serving.
      if (await starting) await this.callDeposed(reason);
    });
  }

  private inTurn<T>(call: () => Promise<T>): Promise<T> {
    const next = this.calls.then(call, call);
    this.calls = next.catch(() => undefined);
    return next;
  }

  private async startServing(term: number): Promise<boolean> {
    try {
      await this.listener.elected(term);
      return true;
    } catch (err) {
      const reason = `could not start serving: ${err instanceof Error ? err.message : String(err)}`;
      if (this.leading && this.term === term) {
        this.leading = false;
        this.log.warn({ term, reason }, 'no longer leader');
      }
      await this.callDeposed(reason);
      return false;
    }
  }

  private async callDeposed(reason: string): Promise<void> {
    try {
      await this.listener.deposed(reason);
    } catch (err) {
      this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'stopping the term failed');
    }
  }
}
