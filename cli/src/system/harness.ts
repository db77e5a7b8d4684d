import { Writable } from 'node:stream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  type AgentHostConfig,
  type SimulatedNodeSpec,
  startAgentHost,
  type AgentHostHandle,
} from '@switchyard/node-agent';
import { decode, encode, InferReply, type InferRequestInput, subjects } from '@switchyard/protocol';
import { startScheduler, type SchedulerConfig, type SchedulerHandle } from '@switchyard/scheduler';
import { NatsServerProcess } from '@switchyard/test-kit';

/** A log sink that discards (tests read state, not logs); set SWITCHYARD_TEST_LOGS=1 to see them. */
export function testLogs(): NodeJS.WritableStream {
  if (process.env['SWITCHYARD_TEST_LOGS'] === '1') return process.stderr;
  return new Writable({ write: (_chunk, _enc, done) => done() });
}

/** Fast failure detection for tests: heartbeats every 100 ms, suspect after 400 ms, dead after 800 ms. */
export const FAST_DETECTOR = { suspectAfterMs: 400, deadAfterMs: 800, forgetAfterMs: 60_000 } as const;
export const FAST_HEARTBEAT_MS = 100;

export function startTestScheduler(
  natsUrl: string,
  overrides: Partial<SchedulerConfig> = {},
): Promise<SchedulerHandle> {
  return startScheduler({
    natsUrl,
    failureDetector: FAST_DETECTOR,
    sweepIntervalMs: 50,
    seed: 7,
    logDestination: testLogs(),
    shutdownGraceMs: 1000,
    ...overrides,
  });
}

export function startTestAgents(
  natsUrl: string,
  nodes: readonly SimulatedNodeSpec[],
  options: Partial<Pick<AgentHostConfig, 'sessionIdleOffloadMs' | 'httpListen'>> = {},
): Promise<AgentHostHandle> {
  return startAgentHost({
    natsUrl,
    nodes,
    heartbeatIntervalMs: FAST_HEARTBEAT_MS,
    logDestination: testLogs(),
    ...options,
  });
}

/** An h100 node spec with both demo models loaded. */
export function h100(nodeId: string, cluster = 'test-1', seed = 1): SimulatedNodeSpec {
  return { nodeId, cluster, zone: `${cluster}-a`, profile: 'h100', models: ['llama-3.1-8b', 'llama-3.3-70b'], seed };
}

/** An L4 node spec (small models only). */
export function l4(nodeId: string, cluster = 'test-1', seed = 2): SimulatedNodeSpec {
  return { nodeId, cluster, zone: `${cluster}-b`, profile: 'l4', models: ['llama-3.1-8b'], seed };
}

/** Polls `condition` every 20 ms until true; throws with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Sends one inference request as a client would and decodes the answer. */
export async function infer(
  nc: NatsConnection,
  request: Partial<InferRequestInput>,
  options: { tenant?: string; timeoutMs?: number } = {},
): Promise<InferReply> {
  const body: InferRequestInput = { v: 1, model: 'llama-3.1-8b', inputTokens: 256, maxOutputTokens: 16, ...request };
  const reply = await nc.request(subjects.infer(options.tenant ?? 'tests'), encode(body), {
    timeout: options.timeoutMs ?? 10_000,
  });
  const decoded = decode(InferReply, reply.data);
  if (!decoded.ok) throw new Error(`invalid reply: ${decoded.error.message}`);
  return decoded.value;
}

/** Sends raw bytes as a request and returns the raw reply text (for hostile-input tests). */
export async function rawRequest(
  nc: NatsConnection,
  subject: string,
  data: Uint8Array | string,
  timeoutMs = 5000,
): Promise<unknown> {
  const reply = await nc.request(subject, data, { timeout: timeoutMs });
  return JSON.parse(new TextDecoder().decode(reply.data));
}

/** A real nats-server, a client connection and cleanup in one. */
export interface NatsFixture {
  readonly server: NatsServerProcess;
  readonly client: NatsConnection;
  close(): Promise<void>;
}

export async function startNats(): Promise<NatsFixture> {
  const server = await NatsServerProcess.start();
  const client = await connect({ servers: server.url, name: 'test-client' });
  return {
    server,
    client,
    async close() {
      await client.close().catch(() => undefined);
      await server.stop();
    },
  };
}

/** A real nats-server, an in-process scheduler and agents hosting `nodes`, all registered. */
export interface Stack {
  readonly nats: NatsFixture;
  readonly scheduler: SchedulerHandle;
  readonly agents: AgentHostHandle;
  close(): Promise<void>;
}

export async function startStack(nodes: readonly SimulatedNodeSpec[]): Promise<Stack> {
  const nats = await startNats();
  const scheduler = await startTestScheduler(nats.server.url);
  const agents = await startTestAgents(nats.server.url, nodes);
  await waitFor(
    () => scheduler.fleet.size === nodes.length && agents.agents.every((a) => a.registered),
    `${nodes.length} nodes to register`,
  );
  return {
    nats,
    scheduler,
    agents,
    async close() {
      await agents.stop(1000);
      await scheduler.stop();
      await nats.close();
    },
  };
}
