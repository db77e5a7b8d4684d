import { mkdir } from 'node:fs/promises';
import { connect } from '@nats-io/transport-node';
import { NatsServerProcess } from '@switchyard/test-kit';
import {
  type FleetProcess,
  type FleetTimings,
  type NodeGroup,
  startAgentProcesses,
  startSchedulerProcess,
} from '../../demo/demo-fleet.js';
import { fetchFleetStatus } from './power-sampler.js';

/** The fleet a load run starts: one scheduler and `agents` agent processes, all real processes of the CLI. */
export interface LoadFleetOptions {
  /** Path of the built `switchyard` CLI entry (cli/dist/main.js). */
  readonly cliEntry: string;
  readonly agents: number;
  /** Simulated nodes each agent process hosts (default 2). */
  readonly nodesPerAgent?: number;
  /** Accelerator profile of every node (default h100). */
  readonly profile?: string;
  /** Accelerators per node (default 4: a demo-sized slice). */
  readonly chips?: number;
  readonly models: readonly string[];
  readonly seed: number;
  /** Where each process writes its log (`<name>.log`). */
  readonly logDir: string;
  /** Use this NATS server instead of starting one (JetStream must be enabled). */
  readonly natsUrl?: string;
}

/** A started fleet; `stop` ends every process it started (idempotent). */
export interface LoadFleet extends AsyncDisposable {
  readonly natsUrl: string;
  readonly nodes: number;
  /** Process ids, for the operator (and for tests that check none is left behind). */
  readonly pids: { readonly natsServer?: number; readonly scheduler?: number; readonly agents: readonly number[] };
  stop(): Promise<void>;
}

/** Failure detection a little faster than the defaults, so that setup settles in a second or two. */
const LOAD_TIMINGS: FleetTimings = { heartbeatIntervalMs: 500, suspectAfterMs: 1500, deadAfterMs: 3000 };

/** The node groups of a load fleet: one cluster per agent process, so that node ids never collide. */
export function loadFleetGroups(options: LoadFleetOptions): NodeGroup[] {
  return Array.from({ length: options.agents }, (_, i) => ({
    cluster: `load-${i}`,
    zone: `load-${i}-a`,
    profile: options.profile ?? 'h100',
    nodes: options.nodesPerAgent ?? 2,
    chips: options.chips ?? 4,
    models: options.models,
  }));
}

/**
 * Starts nats-server (JetStream on a temp dir), the scheduler and the agents as real processes
 * (through the demo's launchers) and waits until every node is ready in the scheduler's view.
 * On any failure, whatever started is stopped before the error propagates.
 */
export async function startLoadFleet(options: LoadFleetOptions): Promise<LoadFleet> {
  if (!Number.isSafeInteger(options.agents) || options.agents < 1)
    throw new RangeError(`agents must be a positive integer, got ${options.agents}`);
  await mkdir(options.logDir, { recursive: true });
  const started: FleetProcess[] = [];
  let nats: NatsServerProcess | undefined;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      // Agents first (they drain), then the scheduler, then the server they all talk through.
      await Promise.all(started.filter((p) => p.group !== undefined).map((p) => p.process.stop(3000)));
      await Promise.all(started.filter((p) => p.group === undefined).map((p) => p.process.stop(3000)));
      await nats?.stop();
    })());
  try {
    if (options.natsUrl === undefined) nats = await NatsServerProcess.start({ jetstream: true });
    const natsUrl = options.natsUrl ?? nats!.url;
    const scheduler = await startSchedulerProcess(
      options.cliEntry,
      natsUrl,
      options.logDir,
      LOAD_TIMINGS,
      options.seed,
      'load-scheduler',
    );
    started.push(scheduler);
    const groups = loadFleetGroups(options);
    // One launch per group: a group that fails to start must not take the handles of the others with it.
    const launches = await Promise.allSettled(
      groups.map((group, i) =>
        startAgentProcesses(options.cliEntry, natsUrl, options.logDir, [group], LOAD_TIMINGS, options.seed + i),
      ),
    );
    const agents = launches.flatMap((launch) => (launch.status === 'fulfilled' ? launch.value : []));
    started.push(...agents);
    const failed = launches.find((launch) => launch.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const nodes = groups.reduce((sum, g) => sum + g.nodes, 0);
    await waitForReadyNodes(natsUrl, nodes, 20_000);
    const agentPids = agents.map((a) => a.process.pid).filter((pid) => pid !== undefined);
    return {
      natsUrl,
      nodes,
      pids: {
        ...(nats?.pid === undefined ? {} : { natsServer: nats.pid }),
        ...(scheduler.process.pid === undefined ? {} : { scheduler: scheduler.process.pid }),
        agents: agentPids,
      },
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Thrown when the fleet does not come up in time. */
export class LoadFleetStartError extends Error {
  override readonly name = 'LoadFleetStartError';
  readonly code = 'FLEET_NOT_READY';
}

async function waitForReadyNodes(natsUrl: string, nodes: number, timeoutMs: number): Promise<void> {
  const nc = await connect({ servers: natsUrl, name: 'load-fleet-setup' });
  try {
    const deadline = Date.now() + timeoutMs;
    let ready = 0;
    while (Date.now() < deadline) {
      const status = await fetchFleetStatus(nc);
      ready = status?.clusters.reduce((sum, c) => sum + c.readyNodes, 0) ?? 0;
      if (ready >= nodes) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new LoadFleetStartError(`only ${ready} of ${nodes} nodes ready after ${timeoutMs} ms`);
  } finally {
    await nc.close();
  }
}
