import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { NatsIdentity } from '@switchyard/protocol';
import { LATENCY_PLACEMENT_CONFIG, type SchedulerHandle } from '@switchyard/scheduler';
import { ManagedProcess } from '@switchyard/test-kit';
import {
  FAST_DETECTOR,
  FAST_HEARTBEAT_MS,
  identityEnvFor,
  type NatsFixture,
  startNats,
  startTestScheduler,
  TEST_SCHEDULER,
  waitFor,
} from './harness.js';

/** The built `switchyard` entry point the fault tests run as separate processes. */
export const CLI = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** Fails a suite early, with the fix, when the CLI has not been built. */
export function requireBuiltCli(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npm run build)`);
}

function flagValue(args: readonly string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at < 0 ? undefined : args[at + 1];
}

/** The node ids an `agent` command line hosts (`--node-id` alone, or `<prefix>-<i>` with `--nodes`). */
export function agentNodeIds(args: readonly string[]): string[] {
  const prefix = flagValue(args, '--node-id');
  if (prefix === undefined) throw new Error('test agents need --node-id: their NATS identity names their nodes');
  const count = Number(flagValue(args, '--nodes') ?? '1');
  return count === 1 ? [prefix] : Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

/**
 * Who a `switchyard` command line connects as: the scheduler, an agent for exactly its nodes, a
 * client of its `--tenant`, else an operator (status, drain, budgets).
 */
export function identityOfCommand(args: readonly string[]): NatsIdentity | readonly string[] {
  if (args[0] === 'scheduler') return TEST_SCHEDULER;
  if (args[0] === 'agent') return agentNodeIds(args);
  const tenant = flagValue(args, '--tenant');
  if (tenant !== undefined) return { role: 'client', user: `cli-${tenant}`, tenant };
  return { role: 'operator', user: 'ops' };
}

/** The environment of a `switchyard` process against `natsUrl`, connecting as its command's identity. */
export function cliEnv(natsUrl: string, args: readonly string[]): NodeJS.ProcessEnv {
  return { ...process.env, SWITCHYARD_NATS_URL: natsUrl, ...identityEnvFor(natsUrl, identityOfCommand(args)) };
}

/** Runs `switchyard <args>` against `natsUrl`. */
export function spawnCli(natsUrl: string, args: readonly string[]): ManagedProcess {
  return new ManagedProcess({
    command: process.execPath,
    args: [CLI, ...args],
    // Many processes share this host: each serves its operator endpoint on a free port.
    env: { ...cliEnv(natsUrl, args), SWITCHYARD_HTTP_LISTEN: '127.0.0.1:0' },
  });
}

export interface AgentProcessOptions {
  readonly seed: number;
  readonly nodes?: number;
  readonly cluster?: string;
  readonly profile?: string;
  readonly chips?: number;
  readonly models?: string;
}

/** An agent process hosting `<prefix>-0 … <prefix>-<n-1>` with fast heartbeats. */
export function spawnAgent(natsUrl: string, prefix: string, options: AgentProcessOptions): ManagedProcess {
  return spawnCli(natsUrl, [
    'agent',
    '--node-id',
    prefix,
    '--nodes',
    String(options.nodes ?? 2),
    '--cluster',
    options.cluster ?? 'test-1',
    '--zone',
    `${options.cluster ?? 'test-1'}-${prefix}`,
    '--profile',
    options.profile ?? 'h100',
    ...(options.chips === undefined ? [] : ['--chips', String(options.chips)]),
    '--models',
    options.models ?? 'llama-3.1-8b',
    '--heartbeat-interval-ms',
    String(FAST_HEARTBEAT_MS),
    '--seed',
    String(options.seed),
    '--log-level',
    'warn',
  ]);
}

/** One agent process hosting one node on a real backend or probe (the tests of real hardware and model servers). */
export interface SingleNodeAgentOptions {
  readonly nodeId: string;
  readonly cluster: string;
  readonly profile: string;
  readonly chips: number;
  readonly models: string;
  /** Backend and probe flags, e.g. `['--backend', 'openai', '--model-server-url', url]`. */
  readonly extraArgs: readonly string[];
  /** Extra environment (e.g. a stand-in tool's settings). */
  readonly env?: Readonly<Record<string, string>>;
}

/** Starts nothing yet: call `ready()` (it resolves once the agent host says it is ready). */
export function singleNodeAgent(natsUrl: string, options: SingleNodeAgentOptions): ManagedProcess {
  const args = [
    'agent',
    '--node-id',
    options.nodeId,
    '--nodes',
    '1',
    '--cluster',
    options.cluster,
    '--zone',
    `${options.cluster}-${options.nodeId}`,
    '--profile',
    options.profile,
    '--chips',
    String(options.chips),
    '--models',
    options.models,
    '--heartbeat-interval-ms',
    String(FAST_HEARTBEAT_MS),
    ...options.extraArgs,
  ];
  return new ManagedProcess({
    command: process.execPath,
    args: [CLI, ...args],
    env: { ...cliEnv(natsUrl, args), SWITCHYARD_HTTP_LISTEN: 'off', ...options.env },
    readyPattern: /"msg":"agent host ready"/,
    startTimeoutMs: 60_000,
  });
}

/** A scheduler process with the fast failure detector; with `leaseMs`, one of several (HA). */
export function spawnScheduler(natsUrl: string, id: string, leaseMs?: number): ManagedProcess {
  return spawnCli(natsUrl, [
    'scheduler',
    '--scheduler-id',
    id,
    ...(leaseMs === undefined ? [] : ['--lease-ms', String(leaseMs)]),
    '--suspect-after-ms',
    String(FAST_DETECTOR.suspectAfterMs),
    '--dead-after-ms',
    String(FAST_DETECTOR.deadAfterMs),
    '--seed',
    '11',
  ]);
}

/** A real nats-server, an in-process scheduler and two agent processes: one to kill, one to survive. */
export interface VictimFleet {
  readonly nats: NatsFixture;
  /** Replaceable: a test may restart the scheduler. */
  scheduler: SchedulerHandle;
  readonly victim: ManagedProcess;
  readonly survivor: ManagedProcess;
  stop(): Promise<void>;
}

/** Starts a VictimFleet whose agents host `victim-0/1` and `survivor-0/1` (or the given prefixes). */
export async function startVictimFleet(
  agent: Omit<AgentProcessOptions, 'seed'>,
  prefixes: readonly [string, string] = ['victim', 'survivor'],
): Promise<VictimFleet> {
  requireBuiltCli();
  const nats = await startNats();
  const fleet: VictimFleet = {
    nats,
    // Spread work (latency-first placement): the default packs work onto the fewest nodes that meet
    // their SLO (least energy), and these tests need work on the victim when it dies.
    scheduler: await startTestScheduler(nats.server.url, { placement: LATENCY_PLACEMENT_CONFIG }),
    victim: spawnAgent(nats.server.url, prefixes[0], { ...agent, seed: 1 }),
    survivor: spawnAgent(nats.server.url, prefixes[1], { ...agent, seed: 2 }),
    async stop() {
      fleet.victim.kill('SIGKILL');
      await fleet.survivor.stop(2000);
      await fleet.scheduler.stop();
      await nats.close();
    },
  };
  await waitFor(() => fleet.scheduler.fleet.size === 4, 'four nodes from two agent processes', 20_000);
  return fleet;
}
