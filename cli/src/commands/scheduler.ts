import { readFileSync } from 'node:fs';
import { parseOpsListen, parseTenantQuotasConfig, parseTopologyConfig } from '@switchyard/protocol';
import {
  CLIENT_GO_LEASE_TIMINGS,
  kubeConfigFor,
  type KubernetesIntegration,
  type KubernetesMode,
  podNamespace,
  startScheduler,
  type TopologySpec,
  validateLeaseTimings,
} from '@switchyard/scheduler';
import {
  type Command,
  intOption,
  natsCredentialsOf,
  natsUrlOf,
  type OptionValues,
  stringOption,
  untilSignal,
  UsageError,
} from '../command.js';

export const schedulerCommand: Command = {
  name: 'scheduler',
  summary: 'run the scheduler (control plane) against a NATS server',
  options: {
    'scheduler-id': { type: 'string', env: 'SWITCHYARD_SCHEDULER_ID', description: 'scheduler id (default: random)' },
    'suspect-after-ms': {
      type: 'string',
      env: 'SWITCHYARD_SUSPECT_AFTER_MS',
      default: '3000',
      description: 'heartbeat silence before a node gets no new work',
    },
    'dead-after-ms': {
      type: 'string',
      env: 'SWITCHYARD_DEAD_AFTER_MS',
      default: '5000',
      description: 'heartbeat silence before a node is dead and its work moves',
    },
    'assign-timeout-ms': {
      type: 'string',
      env: 'SWITCHYARD_ASSIGN_TIMEOUT_MS',
      default: '2000',
      description: 'time a node has to acknowledge an assignment',
    },
    'default-deadline-ms': {
      type: 'string',
      env: 'SWITCHYARD_DEFAULT_DEADLINE_MS',
      default: '300000',
      description: 'deadline for requests that set none',
    },
    seed: { type: 'string', env: 'SWITCHYARD_SEED', description: 'seed of the tie-breaking RNG (default: random)' },
    topology: {
      type: 'string',
      env: 'SWITCHYARD_TOPOLOGY',
      description:
        'JSON file: clusters with power budgets, client regions with latencies (docs/schemas/TopologyConfig.json)',
    },
    'power-interval-ms': {
      type: 'string',
      env: 'SWITCHYARD_POWER_INTERVAL_MS',
      default: '1000',
      description: 'how often the power controller checks cluster budgets and node limits',
    },
    'http-listen': {
      type: 'string',
      env: 'SWITCHYARD_HTTP_LISTEN',
      default: '0.0.0.0:9464',
      description: 'where to serve /metrics, /healthz, /readyz and the /fleet page: host:port, :port, or off',
    },
    'tenant-quotas': {
      type: 'string',
      env: 'SWITCHYARD_TENANT_QUOTAS',
      description:
        'JSON file of per-tenant quotas and rate limits: defaults and per-tenant overrides (maxSessions, maxConcurrentRequests, tokensPerMinute, requestsPerSecond, burstRequests)',
    },
    kubernetes: {
      type: 'string',
      env: 'SWITCHYARD_KUBERNETES',
      default: 'auto',
      description:
        'auto|on|off: watch Kubernetes Nodes (instance type, zone, accelerators; cordoned or NotReady Nodes drain their agents). auto: on inside a cluster or with --kubeconfig',
    },
    kubeconfig: {
      type: 'string',
      env: 'SWITCHYARD_KUBECONFIG',
      description: 'kubeconfig file for the Kubernetes API (default: the pod service account)',
    },
    'node-label-selector': {
      type: 'string',
      env: 'SWITCHYARD_NODE_LABEL_SELECTOR',
      description: 'watch only Kubernetes Nodes with these labels, e.g. switchyard.io/pool',
    },
    'leader-election': {
      type: 'string',
      env: 'SWITCHYARD_LEADER_ELECTION',
      description:
        'none|nats|kubernetes: how one of several schedulers is chosen to serve (default: nats with --lease-ms, else none)',
    },
    namespace: {
      type: 'string',
      env: 'SWITCHYARD_NAMESPACE',
      description: "namespace of the leader Lease (default: the pod's own, else default)",
    },
    'lease-name': {
      type: 'string',
      env: 'SWITCHYARD_LEASE_NAME',
      default: 'switchyard-scheduler',
      description: 'name of the coordination.k8s.io Lease with --leader-election kubernetes',
    },
    'lease-duration-ms': {
      type: 'string',
      env: 'SWITCHYARD_LEASE_DURATION_MS',
      default: String(CLIENT_GO_LEASE_TIMINGS.leaseDurationMs),
      description: 'Kubernetes Lease: a standby takes over after this long without a renewal',
    },
    'renew-deadline-ms': {
      type: 'string',
      env: 'SWITCHYARD_RENEW_DEADLINE_MS',
      default: String(CLIENT_GO_LEASE_TIMINGS.renewDeadlineMs),
      description: 'Kubernetes Lease: a leader that could not renew for this long stops serving',
    },
    'retry-period-ms': {
      type: 'string',
      env: 'SWITCHYARD_RETRY_PERIOD_MS',
      default: String(CLIENT_GO_LEASE_TIMINGS.retryPeriodMs),
      description: 'Kubernetes Lease: how often candidates try and the leader renews',
    },
    'lease-ms': {
      type: 'string',
      env: 'SWITCHYARD_LEASE_MS',
      description:
        'high availability over NATS KV: serve only while holding the leader lease of this length (run two or more schedulers)',
    },
  },
  async run(values) {
    const suspectAfterMs = intOption(values, 'suspect-after-ms', 1, 3_600_000);
    const deadAfterMs = intOption(values, 'dead-after-ms', 2, 3_600_000);
    const schedulerId = values['scheduler-id'];
    const seed = values['seed'];
    const topologyFile = values['topology'];
    const topology = typeof topologyFile === 'string' ? loadTopology(topologyFile) : undefined;
    const httpListen = parseOpsListen(stringOption(values, 'http-listen'));
    const kubernetes = await kubernetesIntegration(values);
    const leaseMs = typeof values['lease-ms'] === 'string' ? intOption(values, 'lease-ms', 100, 600_000) : undefined;
    if (kubernetes?.lease !== undefined && leaseMs !== undefined) {
      throw new UsageError('--lease-ms is the NATS KV lease: leave it out with --leader-election kubernetes');
    }
    if (values['leader-election'] === 'nats' && leaseMs === undefined) {
      throw new UsageError('--leader-election nats needs --lease-ms');
    }
    const quotaFile = values['tenant-quotas'];
    const tenantQuotas =
      typeof quotaFile === 'string' ? parseTenantQuotasConfig(readFileSync(quotaFile, 'utf8'), quotaFile) : undefined;
    const scheduler = await startScheduler({
      ...(kubernetes === undefined ? {} : { kubernetes }),
      ...(tenantQuotas === undefined ? {} : { tenantQuotas }),
      natsCredentials: natsCredentialsOf(values),
      ...(httpListen === undefined ? {} : { httpListen }),
      ...(topology === undefined ? {} : { topology }),
      powerIntervalMs: intOption(values, 'power-interval-ms', 50, 600_000),
      natsUrl: natsUrlOf(values),
      logLevel: stringOption(values, 'log-level'),
      failureDetector: { suspectAfterMs, deadAfterMs, forgetAfterMs: Math.max(deadAfterMs, 10 * 60_000) },
      inference: {
        assignTimeoutMs: intOption(values, 'assign-timeout-ms', 10, 600_000),
        deadlineGraceMs: 500,
        noCapacityRetryAfterMs: 1000,
      },
      ledger: { maxAttempts: 3, defaultDeadlineMs: intOption(values, 'default-deadline-ms', 1, 7 * 24 * 3_600_000) },
      ...(typeof schedulerId === 'string' ? { schedulerId } : {}),
      ...(typeof seed === 'string' ? { seed: intOption(values, 'seed', 0, 2 ** 32 - 1) } : {}),
      ...(leaseMs === undefined || values['leader-election'] === 'none' ? {} : { leaseMs }),
    });
    const stopOn = await Promise.race([untilSignal(), scheduler.closed.then(() => 'closed' as const)]);
    await scheduler.stop();
    return stopOn === 'closed' ? 1 : 0;
  },
};

const LEADER_ELECTIONS = ['none', 'nats', 'kubernetes'] as const;
const KUBERNETES_MODES: readonly KubernetesMode[] = ['auto', 'on', 'off'];

/** The Kubernetes integration the options ask for (undefined: off, or auto outside a cluster). */
async function kubernetesIntegration(values: OptionValues): Promise<KubernetesIntegration | undefined> {
  const mode = stringOption(values, 'kubernetes');
  if (!(KUBERNETES_MODES as readonly string[]).includes(mode)) {
    throw new UsageError(`--kubernetes must be one of ${KUBERNETES_MODES.join(', ')}, got ${mode}`);
  }
  const election = values['leader-election'];
  if (typeof election === 'string' && !(LEADER_ELECTIONS as readonly string[]).includes(election)) {
    throw new UsageError(`--leader-election must be one of ${LEADER_ELECTIONS.join(', ')}, got ${election}`);
  }
  const selector = values['node-label-selector'];
  const timings = {
    leaseDurationMs: intOption(values, 'lease-duration-ms', 1000, 3_600_000),
    renewDeadlineMs: intOption(values, 'renew-deadline-ms', 100, 3_600_000),
    retryPeriodMs: intOption(values, 'retry-period-ms', 50, 3_600_000),
  };
  try {
    validateLeaseTimings(timings);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const path = typeof values['kubeconfig'] === 'string' ? values['kubeconfig'] : undefined;
  // A Lease needs the API whatever --kubernetes says about watching Nodes.
  const kubeConfig = await kubeConfigFor(
    election === 'kubernetes' && mode !== 'on' ? 'on' : (mode as KubernetesMode),
    path,
  );
  if (kubeConfig === undefined) return undefined;
  return {
    kubeConfig,
    watchNodes: mode !== 'off',
    ...(typeof selector === 'string' ? { nodeOptions: { labelSelector: selector } } : {}),
    ...(election === 'kubernetes'
      ? {
          lease: {
            namespace: typeof values['namespace'] === 'string' ? values['namespace'] : (podNamespace() ?? 'default'),
            name: stringOption(values, 'lease-name'),
            timings,
          },
        }
      : {}),
  };
}

/** Reads and validates a topology file (ConfigError names the file and every problem). */
export function loadTopology(path: string): TopologySpec {
  const config = parseTopologyConfig(readFileSync(path, 'utf8'), path);
  return {
    clusters: config.clusters.map((c) => ({
      name: c.name,
      location: c.location,
      powerBudgetWatts: c.powerBudgetWatts,
      safetyMargin: c.safetyMargin,
    })),
    regions: config.regions,
    unlistedLatencyMs: config.unlistedLatencyMs,
    ...(config.powerThresholds === undefined ? {} : { powerThresholds: config.powerThresholds }),
  };
}
