import { Writable } from 'node:stream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  type AgentHostConfig,
  type SimulatedNodeSpec,
  startAgentHost,
  type AgentHostHandle,
} from '@switchyard/node-agent';
import {
  decode,
  encode,
  InferReply,
  type InferRequestInput,
  type NatsCredentials,
  type NatsIdentity,
  natsAuthOptions,
  subjects,
} from '@switchyard/protocol';
import { startScheduler, type SchedulerConfig, type SchedulerHandle } from '@switchyard/scheduler';
import { NatsServerProcess } from '@switchyard/test-kit';
import { type IdentityEnv, TestNatsAuth } from './test-nats-auth.js';

/** A log sink that discards (tests read state, not logs); set SWITCHYARD_TEST_LOGS=1 to see them. */
export function testLogs(): NodeJS.WritableStream {
  if (process.env['SWITCHYARD_TEST_LOGS'] === '1') return process.stderr;
  return new Writable({ write: (_chunk, _enc, done) => done() });
}

/** Fast failure detection for tests: heartbeats every 100 ms, suspect after 400 ms, dead after 800 ms. */
export const FAST_DETECTOR = { suspectAfterMs: 400, deadAfterMs: 800, forgetAfterMs: 60_000 } as const;
export const FAST_HEARTBEAT_MS = 100;

/** The identity every test scheduler runs as (several schedulers may share it: they have one role). */
export const TEST_SCHEDULER: NatsIdentity = { role: 'scheduler', user: 'sched' };

/** The servers startNats started with authentication on, by URL, with the identities enrolled so far. */
const authenticatedServers = new Map<string, { readonly server: NatsServerProcess; readonly auth: TestNatsAuth }>();

/**
 * The credentials `identity` connects with to the test server at `natsUrl`, enrolled (and the server
 * reloaded) when new; undefined when that server runs without authentication.
 */
export async function credentialsFor(natsUrl: string, identity: NatsIdentity): Promise<NatsCredentials | undefined> {
  const known = authenticatedServers.get(natsUrl);
  if (known === undefined) return undefined;
  const { credentials, changed } = known.auth.enrol(identity);
  if (changed) await known.server.reload();
  return credentials;
}

/** credentialsFor an agent hosting exactly `nodeIds`. */
export async function agentCredentialsFor(
  natsUrl: string,
  nodeIds: readonly string[],
): Promise<NatsCredentials | undefined> {
  const known = authenticatedServers.get(natsUrl);
  if (known === undefined) return undefined;
  const { credentials, changed } = known.auth.enrolAgent(nodeIds);
  if (changed) await known.server.reload();
  return credentials;
}

/**
 * The environment of a CLI process connecting as `identity` (empty without authentication). The
 * server's reload is asked for at once and lands long before a new Node.js process connects.
 */
export function identityEnvFor(natsUrl: string, identity: NatsIdentity | readonly string[]): IdentityEnv | {} {
  const known = authenticatedServers.get(natsUrl);
  if (known === undefined) return {};
  const { credentials, changed } = 'role' in identity ? known.auth.enrol(identity) : known.auth.enrolAgent(identity);
  if (changed) {
    known.server.reload().catch((err: unknown) => {
      process.stderr.write(`test nats-server reload failed: ${String(err)}\n`);
    });
  }
  return TestNatsAuth.envOf(credentials);
}

export async function startTestScheduler(
  natsUrl: string,
  overrides: Partial<SchedulerConfig> = {},
): Promise<SchedulerHandle> {
  const natsCredentials = await credentialsFor(natsUrl, TEST_SCHEDULER);
  return startScheduler({
    natsUrl,
    ...(natsCredentials === undefined ? {} : { natsCredentials }),
    failureDetector: FAST_DETECTOR,
    sweepIntervalMs: 50,
    seed: 7,
    logDestination: testLogs(),
    shutdownGraceMs: 1000,
    ...overrides,
  });
}

export async function startTestAgents(
  natsUrl: string,
  nodes: readonly SimulatedNodeSpec[],
  options: Partial<Pick<AgentHostConfig, 'sessionIdleOffloadMs' | 'httpListen'>> = {},
): Promise<AgentHostHandle> {
  const natsCredentials = await agentCredentialsFor(
    natsUrl,
    nodes.map((node) => node.nodeId),
  );
  return startAgentHost({
    natsUrl,
    ...(natsCredentials === undefined ? {} : { natsCredentials }),
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
  /** The test's own connection: unrestricted when the server runs with authentication. */
  readonly client: NatsConnection;
  /** A connection as `identity` (a client of a tenant, an operator), held to its role's subjects; closed with the fixture. */
  connectAs(identity: NatsIdentity): Promise<NatsConnection>;
  close(): Promise<void>;
}

/**
 * A real nats-server with JetStream. With authentication (the default) it runs with the
 * authorization Switchyard generates, and every process the harness starts against it connects as
 * its own least-privilege identity.
 */
export async function startNats(options: { authentication?: boolean } = {}): Promise<NatsFixture> {
  const auth = (options.authentication ?? true) ? TestNatsAuth.create() : undefined;
  const server = await NatsServerProcess.start(auth === undefined ? {} : { include: auth.configFile });
  if (auth !== undefined) authenticatedServers.set(server.url, { server, auth });
  const client = await connect({
    servers: server.url,
    name: 'test-client',
    ...natsAuthOptions(auth?.observer),
  });
  const opened: NatsConnection[] = [];
  return {
    server,
    client,
    async connectAs(identity) {
      const credentials = await credentialsFor(server.url, identity);
      const nc = await connect({ servers: server.url, name: `test-${identity.user}`, ...natsAuthOptions(credentials) });
      opened.push(nc);
      return nc;
    },
    async close() {
      await Promise.all([client, ...opened].map((nc) => nc.close().catch(() => undefined)));
      await server.stop();
      authenticatedServers.delete(server.url);
      auth?.dispose();
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
