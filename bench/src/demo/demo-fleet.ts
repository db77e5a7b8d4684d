import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess } from '@switchyard/test-kit';

/** A group of identical simulated nodes run by one agent process. */
export interface NodeGroup {
  readonly cluster: string;
  readonly zone: string;
  readonly profile: string;
  readonly nodes: number;
  /** Accelerators per node. */
  readonly chips: number;
  readonly models: readonly string[];
  /** How the group's node runs its work (default: the simulated accelerator). */
  readonly backend?: 'llama-cpp';
}

/**
 * The demo fleet: three edge clusters of mixed Trainium2, H100 and L4 nodes in six agent processes.
 * Nodes are small slices (4× H100, 2× Trainium2, 1× L4) so that a laptop-sized load shows real
 * utilisation; both hold Llama 3.3 70B in BF16 (140 GB) next to Llama 3.1 8B with room for KV cache.
 */
export const DEMO_FLEET: readonly NodeGroup[] = [
  {
    cluster: 'edge-fra-1',
    zone: 'fra-a',
    profile: 'trn2',
    nodes: 3,
    chips: 2,
    models: ['llama-3.1-8b', 'llama-3.3-70b'],
  },
  {
    cluster: 'edge-fra-1',
    zone: 'fra-b',
    profile: 'h100',
    nodes: 2,
    chips: 4,
    models: ['llama-3.1-8b', 'llama-3.3-70b'],
  },
  {
    cluster: 'edge-iad-1',
    zone: 'iad-a',
    profile: 'h100',
    nodes: 2,
    chips: 4,
    models: ['llama-3.1-8b', 'llama-3.3-70b'],
  },
  { cluster: 'edge-iad-1', zone: 'iad-b', profile: 'l4', nodes: 4, chips: 1, models: ['llama-3.1-8b'] },
  {
    cluster: 'edge-sin-1',
    zone: 'sin-a',
    profile: 'trn2',
    nodes: 3,
    chips: 2,
    models: ['llama-3.1-8b', 'llama-3.3-70b'],
  },
  { cluster: 'edge-sin-1', zone: 'sin-b', profile: 'l4', nodes: 4, chips: 1, models: ['llama-3.1-8b'] },
  // A CPU edge node serving real tokens: the generated tiny llama through llama.cpp, in the agent.
  {
    cluster: 'edge-sin-1',
    zone: 'sin-c',
    profile: 'cpu',
    nodes: 1,
    chips: 1,
    models: ['tiny-llama'],
    backend: 'llama-cpp',
  },
];

/**
 * The demo's geography and power (a TopologyConfig file): budgets at about 60–75 % of each cluster's
 * peak draw, so a busy cluster reaches its steer stage; three client regions, each near one
 * cluster, with round trips from public inter-region figures (Frankfurt–Virginia ≈ 85–90 ms,
 * Frankfurt–Singapore ≈ 160 ms, Virginia–Singapore ≈ 220 ms).
 */
export const DEMO_TOPOLOGY = {
  clusters: [
    { name: 'edge-fra-1', location: 'Frankfurt', powerBudgetWatts: 5200, safetyMargin: 0.05 },
    { name: 'edge-iad-1', location: 'Ashburn, Virginia', powerBudgetWatts: 4000, safetyMargin: 0.05 },
    { name: 'edge-sin-1', location: 'Singapore', powerBudgetWatts: 2400, safetyMargin: 0.05 },
  ],
  regions: [
    { name: 'eu-central', latencyMs: { 'edge-fra-1': 4, 'edge-iad-1': 88, 'edge-sin-1': 160 } },
    { name: 'us-east', latencyMs: { 'edge-fra-1': 88, 'edge-iad-1': 3, 'edge-sin-1': 220 } },
    { name: 'ap-southeast', latencyMs: { 'edge-fra-1': 160, 'edge-iad-1': 220, 'edge-sin-1': 5 } },
  ],
  unlistedLatencyMs: 250,
} as const;

/** Node ids of a group, as the agent names them: `<prefix>-<i>`, or just `<prefix>` for a single node. */
export function groupNodeIds(group: NodeGroup): string[] {
  if (group.nodes === 1) return [groupPrefix(group)];
  return Array.from({ length: group.nodes }, (_, i) => `${groupPrefix(group)}-${i}`);
}

export function groupPrefix(group: NodeGroup): string {
  return `${group.cluster}-${group.profile}`;
}

/** Timing knobs the demo gives the processes it starts (fast detection so a kill shows within seconds). */
export interface FleetTimings {
  readonly heartbeatIntervalMs: number;
  readonly suspectAfterMs: number;
  readonly deadAfterMs: number;
}

/** A process the demo started, with its log file. */
export interface FleetProcess {
  readonly name: string;
  readonly process: ManagedProcess;
  readonly group?: NodeGroup;
}

function logSink(logDir: string, name: string): WriteStream {
  return createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
}

function launch(
  cliEntry: string,
  name: string,
  args: string[],
  logDir: string,
  natsUrl: string,
  env: Readonly<Record<string, string>> = {},
): ManagedProcess {
  const sink = logSink(logDir, name);
  const child = new ManagedProcess({
    command: process.execPath,
    args: [cliEntry, ...args],
    // Many processes share this host: each serves its operator endpoint on a free port.
    env: { ...process.env, SWITCHYARD_NATS_URL: natsUrl, SWITCHYARD_HTTP_LISTEN: '127.0.0.1:0', ...env },
    readyPattern: /"msg":"(scheduler ready|agent host ready|standing by[^"]*)"/,
    startTimeoutMs: 30_000,
    onLine: (line) => sink.write(`${line}\n`),
  });
  void child.exited.then(() => sink.end());
  return child;
}

/**
 * Starts a scheduler process. With `leaseMs`, it is one of several: it serves only while it holds
 * the leader lease, and is ready once it either leads or stands by.
 */
export async function startSchedulerProcess(
  cliEntry: string,
  natsUrl: string,
  logDir: string,
  timings: FleetTimings,
  seed: number,
  name = 'scheduler',
  leaseMs?: number,
  topologyFile?: string,
  /** More scheduler flags (e.g. a Kubernetes Lease election instead of `leaseMs`). */
  extraArgs: readonly string[] = [],
  /** More environment (e.g. its NATS credentials). */
  env: Readonly<Record<string, string>> = {},
): Promise<FleetProcess> {
  const process = launch(
    cliEntry,
    name,
    [
      'scheduler',
      '--scheduler-id',
      name,
      ...(leaseMs === undefined ? [] : ['--lease-ms', String(leaseMs)]),
      ...(topologyFile === undefined ? [] : ['--topology', topologyFile]),
      '--suspect-after-ms',
      String(timings.suspectAfterMs),
      '--dead-after-ms',
      String(timings.deadAfterMs),
      '--seed',
      String(seed),
      ...extraArgs,
    ],
    logDir,
    natsUrl,
    env,
  );
  await readyOrStopped([process]);
  return { name, process };
}

/** Starts one agent process per node group, in parallel. */
export async function startAgentProcesses(
  cliEntry: string,
  natsUrl: string,
  logDir: string,
  groups: readonly NodeGroup[],
  timings: FleetTimings,
  seed: number,
  /** The Kubernetes Node each group's agent runs on (none outside Kubernetes). */
  kubernetesNodeOf?: (group: NodeGroup) => string,
  /** Each agent's extra environment (e.g. its NATS credentials). */
  envOf: (group: NodeGroup) => Readonly<Record<string, string>> = () => ({}),
): Promise<FleetProcess[]> {
  const processes = groups.map((group, i): FleetProcess => {
    const name = `agent-${groupPrefix(group)}`;
    const child = launch(
      cliEntry,
      name,
      [
        'agent',
        '--node-id',
        groupPrefix(group),
        '--nodes',
        String(group.nodes),
        '--cluster',
        group.cluster,
        '--zone',
        group.zone,
        '--profile',
        group.profile,
        '--chips',
        String(group.chips),
        '--models',
        group.models.join(','),
        '--heartbeat-interval-ms',
        String(timings.heartbeatIntervalMs),
        '--seed',
        String(seed + i),
        '--drain-grace-ms',
        '5000',
        ...(group.backend === undefined
          ? []
          : ['--backend', group.backend, '--max-concurrency', '2', '--threads', '1']),
        ...(kubernetesNodeOf === undefined ? [] : ['--kubernetes-node', kubernetesNodeOf(group)]),
      ],
      logDir,
      natsUrl,
      envOf(group),
    );
    return { name, process: child, group };
  });
  await readyOrStopped(processes.map((p) => p.process));
  return processes;
}

/**
 * Waits until every process is ready; if any fails to start, stops them all before the error goes
 * on: the caller never got their handles, so nobody else could.
 */
async function readyOrStopped(processes: readonly ManagedProcess[]): Promise<void> {
  const started = await Promise.allSettled(processes.map((p) => p.ready()));
  const failed = started.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed === undefined) return;
  await Promise.all(processes.map((p) => p.stop(5_000).catch(() => undefined)));
  throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
}
