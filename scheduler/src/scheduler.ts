import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createRng, type ModelSpec } from '@switchyard/fleet-model';
import { pino } from 'pino';
import type { KubeConfig } from '@kubernetes/client-node';
import { KvLeaderLease } from './adapters/jetstream/kv-leader-lease.js';
import type { KubernetesLeaseConfig } from './adapters/kubernetes/kubernetes-lease-elector.js';
import type { KubernetesNodeWatcher, NodeWatcherOptions } from './adapters/kubernetes/kubernetes-node-watcher.js';
import type { LeaderElection } from './core/leadership/leadership.js';
import { type TenantQuotaConfig, validateTenantQuotaConfig } from './core/admission/tenant-quotas.js';
import { validateLeaseTimings } from './core/leadership/lease-record.js';
import {
  DEFAULT_FAILURE_DETECTOR,
  type FailureDetectorConfig,
  validateFailureDetectorConfig,
} from './core/fleet/failure-detector.js';
import { FleetView } from './core/fleet/fleet-view.js';
import { buildPlacement, DEFAULT_PLACEMENT_CONFIG, type PlacementConfig } from './core/placement/registry.js';
import { DEFAULT_REQUEST_LEDGER, type RequestLedgerConfig } from './core/requests/request-ledger.js';
import { SessionRegistry } from './core/sessions/session-registry.js';
import {
  DEFAULT_INFERENCE_CONFIG,
  type InferenceServiceConfig,
  validateInferenceConfig,
} from './service/inference-service.js';
import { Counters, type Logger } from './service/ports.js';
import { DEFAULT_SESSION_CONFIG, type SessionService, type SessionServiceConfig } from './service/session-service.js';
import { type ServingTerm, startServingTerm } from './serving-term.js';
import { Topology, type TopologySpec } from './core/topology/topology.js';
import type { BudgetOverrides } from './service/power-admin.js';
import {
  json,
  natsAuthOptions,
  natsServers,
  redactedUrl,
  type NatsCredentials,
  type OpsListen,
  type OpsServer,
  standardOpsRoutes,
  startOpsServer,
} from '@switchyard/protocol';
import { SchedulerMetrics } from './adapters/metrics/scheduler-metrics.js';
import { TimedPlacementFramework } from './adapters/metrics/timed-placement.js';
import { FLEET_PAGE_HTML } from './adapters/http/fleet-page.js';
import { fleetSnapshot } from './service/fleet-snapshot.js';

/** Everything a scheduler process is configured with. */
export interface SchedulerConfig {
  readonly natsUrl: string;
  /** How to authenticate to NATS (default: no credentials). */
  readonly natsCredentials?: NatsCredentials;
  /** Defaults to `sched-<random>`; must be a subject token. */
  readonly schedulerId?: string;
  readonly failureDetector?: FailureDetectorConfig;
  readonly placement?: PlacementConfig;
  readonly ledger?: RequestLedgerConfig;
  readonly inference?: InferenceServiceConfig;
  /** How often liveness and deadlines are checked (default 200 ms). */
  readonly sweepIntervalMs?: number;
  /** Seed of the tie-breaking RNG (default: random). */
  readonly seed?: number;
  readonly logLevel?: string;
  /** Where logs go (default stdout). */
  readonly logDestination?: NodeJS.WritableStream;
  /** Model catalogue lookup (default: fleet-model's). */
  readonly models?: (name: string) => ModelSpec | undefined;
  /** Graceful stop waits this long for open requests to be answered (default 10 s). */
  readonly shutdownGraceMs?: number;
  readonly sessions?: SessionServiceConfig;
  /** Run as one of several schedulers: serve only while holding the leader lease of this length. */
  readonly leaseMs?: number;
  /** Clusters with power budgets and client regions with latencies (default: none, no budgets). */
  readonly topology?: TopologySpec;
  /** How often the power controller runs (default 1 s). */
  readonly powerIntervalMs?: number;
  /** Where to serve /metrics, /healthz, /readyz and the fleet page (default: not served). */
  readonly httpListen?: OpsListen;
  /** Per-tenant quotas and rate limits (default: DEFAULT_TENANT_LIMITS for every tenant). */
  readonly tenantQuotas?: TenantQuotaConfig;
  /** Inside Kubernetes: watch Nodes, and elect the leader through a Lease (default: neither). */
  readonly kubernetes?: KubernetesIntegration;
}

/** How the scheduler uses the Kubernetes API. */
export interface KubernetesIntegration {
  readonly kubeConfig: KubeConfig;
  /** Read Nodes for instance type, zone, region and accelerators; drain agents of cordoned or NotReady Nodes. */
  readonly watchNodes: boolean;
  readonly nodeOptions?: NodeWatcherOptions;
  /** Elect the serving scheduler through this `coordination.k8s.io` Lease (instead of `leaseMs` over NATS KV). */
  readonly lease?: Omit<KubernetesLeaseConfig, 'identity'>;
}

/** A running scheduler. */
export interface SchedulerHandle {
  readonly schedulerId: string;
  /** The fleet view of the current term (an empty one while not leader). */
  readonly fleet: FleetView;
  readonly counters: Counters;
  readonly openRequests: () => number;
  /** Sessions, while serving on a NATS server with JetStream (undefined otherwise). */
  readonly sessions: SessionService | undefined;
  readonly sessionRegistry: SessionRegistry;
  /** Whether this scheduler serves now (always, without a lease). */
  readonly isLeader: boolean;
  /** The port of the operator HTTP endpoint, when `httpListen` was given. */
  readonly httpPort: number | undefined;
  readonly metrics: SchedulerMetrics;
  /** Stops taking messages, waits (bounded) for open requests, closes the connection. */
  stop(): Promise<void>;
  /** Resolves when the NATS connection closes for good. */
  readonly closed: Promise<void>;
}

/** Composition root of the scheduler process: configuration, connection, leadership, serving terms. */
export async function startScheduler(config: SchedulerConfig): Promise<SchedulerHandle> {
  const schedulerId = config.schedulerId ?? `sched-${randomBytes(4).toString('hex')}`;
  const log: Logger = pino(
    { level: config.logLevel ?? 'info', base: { service: 'scheduler', schedulerId } },
    config.logDestination ?? process.stdout,
  );
  const detector = validateFailureDetectorConfig(config.failureDetector ?? DEFAULT_FAILURE_DETECTOR);
  const counters = new Counters();
  const placement = new TimedPlacementFramework(buildPlacement(config.placement ?? DEFAULT_PLACEMENT_CONFIG), counters);
  validateInferenceConfig(config.inference ?? DEFAULT_INFERENCE_CONFIG); // at start-up, not at election
  const topology: TopologySpec = config.topology ?? { clusters: [], regions: [] };
  const checked = new Topology(topology); // fail at start-up, not at the first election, on a bad topology
  log.info({ clusters: [...checked.all()].map((c) => c.name), regions: checked.regionNames }, 'topology loaded');
  if (config.kubernetes?.lease !== undefined && config.leaseMs !== undefined) {
    throw new RangeError('choose one leader election: a Kubernetes Lease or leaseMs over NATS KV, not both');
  }
  // At start-up, not at the first election: a bad quota file must stop the process, not a term.
  if (config.tenantQuotas !== undefined) validateTenantQuotaConfig(config.tenantQuotas);
  const leaseTimings = config.kubernetes?.lease?.timings;
  if (leaseTimings !== undefined) validateLeaseTimings(leaseTimings);
  const budgetOverrides: BudgetOverrides = new Map();
  const clock = Date.now;
  const rng = createRng(config.seed ?? randomBytes(4).readUInt32LE(0));
  const graceMs = config.shutdownGraceMs ?? 10_000;
  const nc: NatsConnection = await connect({
    servers: natsServers(config.natsUrl),
    ...natsAuthOptions(config.natsCredentials),
    name: schedulerId,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  const connection = { up: true };
  void watchConnection(nc, log, counters, connection);

  let term: ServingTerm | undefined;
  let servingSinceMs = 0;
  const idle = { fleet: undefined as FleetView | undefined, registry: new SessionRegistry() };
  let lease: LeaderElection | undefined;
  // Operators can scrape and probe from the start, while the scheduler stands by or rebuilds its view.
  const currentFleet = (): FleetView => term?.fleet ?? idle.fleet ?? emptyFleet;
  const metrics = new SchedulerMetrics({
    counters,
    fleet: currentFleet,
    sessions: () => term?.sessionRegistry ?? idle.registry,
    queues: () => term?.queueStats,
    isLeader: () => term !== undefined,
    natsConnected: () => connection.up,
  });
  const readiness = (): { ready: boolean; reason: string } => {
    if (!connection.up) return { ready: false, reason: 'not connected to NATS' };
    if (term === undefined) {
      return lease === undefined
        ? { ready: false, reason: 'not serving' }
        : { ready: true, reason: 'standing by behind the leader' };
    }
    // A new leader learns the fleet from heartbeats: until nodes have had time to report, it places blind.
    if (clock() - servingSinceMs < detector.suspectAfterMs)
      return { ready: false, reason: 'rebuilding the fleet view' };
    return { ready: true, reason: 'leading' };
  };
  let ops: OpsServer | undefined;
  if (config.httpListen !== undefined) {
    try {
      ops = await startOpsServer(
        config.httpListen,
        {
          ...standardOpsRoutes({ metrics, readiness }),
          '/fleet': () => ({ status: 200, contentType: 'text/html; charset=utf-8', body: FLEET_PAGE_HTML }),
          '/api/fleet': () =>
            json(
              200,
              fleetSnapshot(
                {
                  schedulerId,
                  isLeader: term !== undefined,
                  fleet: currentFleet(),
                  sessions: term?.sessionRegistry ?? idle.registry,
                  queues: term?.queueStats,
                },
                clock(),
              ),
            ),
        },
        (err, path) => log.error({ err: err instanceof Error ? err.message : String(err), path }, 'http route failed'),
      );
    } catch (err) {
      // A port in use must not leave a half-started process connected to NATS.
      await nc.close().catch(() => undefined);
      throw err;
    }
    log.info({ port: ops.port, host: config.httpListen.host }, 'http listening');
  }

  let nodeWatcher: KubernetesNodeWatcher | undefined;
  if (config.kubernetes?.watchNodes === true) {
    // Loaded only when Kubernetes is on: the client library takes a second to load.
    const { KubernetesNodeWatcher } = await import('./adapters/kubernetes/kubernetes-node-watcher.js');
    nodeWatcher = new KubernetesNodeWatcher(config.kubernetes.kubeConfig, log, counters, config.kubernetes.nodeOptions);
    // Serve even when the API is down at start: agents then simply carry no Node information yet.
    const listed = await nodeWatcher.start((host) => term?.hostChanged(host));
    if (listed) log.info({ nodes: [...nodeWatcher.all()].length }, 'kubernetes nodes listed');
    else log.warn({}, 'kubernetes nodes not listed yet; serving without them until the API answers');
  }

  const serve = async (): Promise<void> => {
    term = await startServingTerm({
      schedulerId,
      nc,
      log,
      counters,
      detector,
      placement,
      clock,
      rng,
      ledger: config.ledger ?? DEFAULT_REQUEST_LEDGER,
      inference: config.inference ?? DEFAULT_INFERENCE_CONFIG,
      sessions: config.sessions ?? DEFAULT_SESSION_CONFIG,
      sweepIntervalMs: config.sweepIntervalMs ?? 200,
      topology,
      budgetOverrides,
      powerIntervalMs: config.powerIntervalMs ?? 1000,
      ...(nodeWatcher === undefined ? {} : { hosts: nodeWatcher }),
      ...(config.tenantQuotas === undefined ? {} : { tenantQuotas: config.tenantQuotas }),
      ...(config.models === undefined ? {} : { models: config.models }),
    });
    idle.fleet = term.fleet;
    servingSinceMs = clock();
    log.info({ natsUrl: redactedUrl(config.natsUrl), detector }, 'scheduler ready');
  };
  const unserve = async (): Promise<void> => {
    const ending = term;
    term = undefined;
    await ending?.stop(graceMs);
  };

  const leadership = { elected: serve, deposed: unserve };
  const kubernetesLease = config.kubernetes?.lease;
  if (kubernetesLease !== undefined) {
    const [{ CoordinationV1Api }, { KubernetesLeaseElector }] = await Promise.all([
      import('@kubernetes/client-node'),
      import('./adapters/kubernetes/kubernetes-lease-elector.js'),
    ]);
    const api = config.kubernetes!.kubeConfig.makeApiClient(CoordinationV1Api);
    lease = await KubernetesLeaseElector.start(api, { ...kubernetesLease, identity: schedulerId }, leadership, log);
  } else if (config.leaseMs !== undefined) {
    lease = await KvLeaderLease.start(nc, schedulerId, config.leaseMs, leadership, log);
  } else {
    await serve();
  }
  if (lease !== undefined && !lease.isLeader)
    log.info({ election: lease.kind }, 'standing by: another scheduler leads');

  let stopping: Promise<void> | undefined;
  return {
    schedulerId,
    get fleet() {
      return currentFleet();
    },
    counters,
    httpPort: ops?.port,
    metrics,
    openRequests: () => term?.openRequests() ?? 0,
    get sessions() {
      return term?.sessions;
    },
    get sessionRegistry() {
      return term?.sessionRegistry ?? idle.registry;
    },
    get isLeader() {
      return term !== undefined;
    },
    closed: nc.closed().then(() => undefined),
    stop() {
      stopping ??= (async () => {
        await lease?.stop();
        await unserve();
        await nodeWatcher?.stop();
        await ops?.close();
        log.info({}, 'scheduler stopped');
        await nc.drain().catch(() => nc.close());
      })();
      return stopping;
    },
  };
}

/** What `fleet` shows before this scheduler has ever led: nothing. */
const emptyFleet = new FleetView(() => undefined, DEFAULT_FAILURE_DETECTOR);

async function watchConnection(
  nc: NatsConnection,
  log: Logger,
  counters: Counters,
  connection: { up: boolean },
): Promise<void> {
  for await (const status of nc.status()) {
    if (status.type === 'disconnect') connection.up = false;
    if (status.type === 'reconnect') {
      connection.up = true;
      counters.increment('nats.reconnects');
    }
    if (status.type === 'disconnect' || status.type === 'reconnect' || status.type === 'error') {
      log.warn({ status: status.type }, 'NATS connection');
    }
  }
  connection.up = false;
}
