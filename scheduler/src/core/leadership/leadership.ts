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
