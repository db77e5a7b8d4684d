import { readFileSync } from 'node:fs';
import { parseOpsListen, parseTopologyConfig } from '@switchyard/protocol';
import { startScheduler, type TopologySpec } from '@switchyard/scheduler';
import { type Command, intOption, stringOption, untilSignal } from '../command.js';

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
    'lease-ms': {
      type: 'string',
      env: 'SWITCHYARD_LEASE_MS',
      description:
        'high availability: serve only while holding the leader lease of this length (run two or more schedulers)',
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
    const scheduler = await startScheduler({
      ...(httpListen === undefined ? {} : { httpListen }),
      ...(topology === undefined ? {} : { topology }),
      powerIntervalMs: intOption(values, 'power-interval-ms', 50, 600_000),
      natsUrl: stringOption(values, 'nats-url'),
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
      ...(typeof values['lease-ms'] === 'string' ? { leaseMs: intOption(values, 'lease-ms', 100, 600_000) } : {}),
    });
    const stopOn = await Promise.race([untilSignal(), scheduler.closed.then(() => 'closed' as const)]);
    await scheduler.stop();
    return stopOn === 'closed' ? 1 : 0;
  },
};

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
