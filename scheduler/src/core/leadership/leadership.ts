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

  /** Won the election for `term`: start serving. False when serving could not start (then not leading). */
  async begin(term: number, fields: object = {}): Promise<boolean> {
    this.term = term;
    this.leading = true;
    this.log.info({ term, ...fields }, 'elected leader');
    try {
      await this.listener.elected(term);
      return true;
    } catch (err) {
      await this.end(`could not start serving: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    }
  }

  /** Stop serving (idempotent). */
  async end(reason: string): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    this.log.warn({ term: this.term, reason }, 'no longer leader');
    try {
      await this.listener.deposed(reason);
    } catch (err) {
      this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'stopping the term failed');
    }
  }
}
