import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { clampPowerLimit, getModel, getProfile } from '@switchyard/fleet-model';
import {
  natsAuthOptions,
  natsServers,
  redactedUrl,
  type OpsServer,
  standardOpsRoutes,
  startOpsServer,
} from '@switchyard/protocol';
import { pino } from 'pino';
import { NullBackend } from './backends/null-backend.js';
import { SimulatedBackend } from './backends/simulated-backend.js';
import { OpenAiBackend } from './backends/openai/openai-backend.js';
import type { LoadedLlamaCppModel } from './backends/llama-cpp/llama-cpp-backend.js';
import { nvidiaPowerLimiter } from './hardware/power-limiter.js';
import { TelemetrySampler } from './hardware/telemetry-sampler.js';
import { type AgentLogger, NodeAgent } from './node-agent.js';
import { OwnershipReader } from './sessions/ownership-reader.js';
import { AgentMetrics, type MeteredNode } from './adapters/agent-metrics.js';
import { SessionLog } from './sessions/session-log.js';
import {
  AgentConfigError,
  type AgentHostConfig,
  type SimulatedNodeSpec,
  validateAgentHostConfig,
} from './agent-host-config.js';

// The configuration types and checks live in agent-host-config.ts; callers keep importing them from here.
export {
  AgentConfigError,
  type AgentHostConfig,
  type BackendKind,
  type ModelServerConfig,
  type SimulatedNodeSpec,
  validateNodeSpec,
} from './agent-host-config.js';

export const AGENT_VERSION = '0.1.0';

/** A running agent host: its agents, its NATS connection, its metrics, and how to stop it. */
export interface AgentHostHandle {
  readonly agents: readonly NodeAgent[];
  readonly nc: NatsConnection;
  readonly metrics: AgentMetrics;
  /** The port of the operator HTTP endpoint, when `httpListen` was given. */
  readonly httpPort: number | undefined;
  /** Drains every node (bounded by `graceMs`), says goodbye, closes the connection. */
  stop(graceMs?: number): Promise<void>;
}

/** A hosted node's figures as its metrics read them, at scrape time. */
function metered(agent: NodeAgent): MeteredNode {
  return {
    nodeId: agent.nodeId,
    cluster: agent.identity.cluster,
    profile: agent.identity.profile,
    backendStatus: agent.backendStatus,
    sessionCount: agent.sessionCount,
    utilization: agent.utilization,
  };
}

/**
 * Composition root of an agent process: one NATS connection, one NodeAgent per hosted node, each
 * with a simulated accelerator. A real node hosts exactly one; dev fleets host many per process.
 * Every command names its node in the subject (assign, power, session adopt/release) and each
 * NodeAgent subscribes to its own, so the server routes them and the host needs no dispatcher.
 */
export async function startAgentHost(config: AgentHostConfig): Promise<AgentHostHandle> {
  const models = config.models ?? getModel;
  validateAgentHostConfig(config, models);
  const log: AgentLogger = pino(
    { level: config.logLevel ?? 'info', base: { service: 'node-agent' } },
    config.logDestination ?? process.stdout,
  );
  const nc = await connect({
    servers: natsServers(config.natsUrl),
    ...natsAuthOptions(config.natsCredentials),
    name: `agent-${config.nodes[0]?.nodeId ?? 'empty'}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  const incarnation = `inc-${randomBytes(6).toString('hex')}`;
  // Sessions need JetStream (their turn log); a server without it still serves stateless work.
  let sessionLog: SessionLog | undefined;
  const ownership = new OwnershipReader(nc);
  try {
    sessionLog = new SessionLog(jetstream(nc), await jetstreamManager(nc));
  } catch (err) {
    log.warn(
      { err: err instanceof Error ? err.message : String(err) },
      'JetStream unavailable: this agent takes no sessions',
    );
  }
  const heartbeatIntervalMs = config.heartbeatIntervalMs ?? 1000;
  const telemetry = config.probe === undefined ? undefined : new TelemetrySampler(config.probe, log);
  if (telemetry !== undefined) {
    // One read before the first registration, so the scheduler meets the node with real figures (or
    // degraded, saying why); later reads run on their own timer and never hold a heartbeat.
    await telemetry.start(heartbeatIntervalMs);
    const spec = config.nodes[0]!;
    const devices = telemetry.latest?.devices ?? [];
    log.info(
      {
        probe: config.probe!.kind,
        devices: devices.map((d) => d.name),
        ...(telemetry.error === undefined ? {} : { code: telemetry.error.code, err: telemetry.error.message }),
      },
      telemetry.error === undefined ? 'hardware probe read the devices' : 'hardware probe failed; node degraded',
    );
    if (devices.length > 0 && spec.chipCount !== undefined && devices.length !== spec.chipCount) {
      log.warn(
        { nodeId: spec.nodeId, configuredChips: spec.chipCount, devices: devices.length },
        'the probe found a different number of devices than --chips says; placement predicts from --chips',
      );
    }
  }
  const connection = { up: true };
  let agents: NodeAgent[] = [];
  const metrics = new AgentMetrics(
    () => agents.map(metered),
    () => connection.up,
  );
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') connection.up = false;
      if (status.type === 'reconnect') {
        connection.up = true;
        metrics.reconnected();
      }
    }
    connection.up = false;
  })();
  // The model loads before the node registers, so the scheduler never sees a node that cannot serve yet.
  const llama =
    config.backend === 'llama-cpp' && config.llamaCpp !== undefined
      ? await loadLlamaModel(config.llamaCpp, config.nodes[0]!, log).catch(async (err: unknown) => {
          await telemetry?.stop();
          await nc.close().catch(() => undefined);
          throw err;
        })
      : undefined;
  agents = config.nodes.map((spec) => {
    const profile = getProfile(spec.profile);
    if (profile === undefined) throw new AgentConfigError(`unknown profile ${spec.profile}`);
    const hardware = { profile, chipCount: spec.chipCount ?? profile.referenceChipsPerNode };
    if (spec.powerLimitWatts !== undefined) {
      log.info(
        {
          nodeId: spec.nodeId,
          requestedWatts: spec.powerLimitWatts,
          appliedWatts: clampPowerLimit(hardware, spec.powerLimitWatts),
        },
        'operator power limit set at start',
      );
    }
    return new NodeAgent({
      identity: {
        nodeId: spec.nodeId,
        cluster: spec.cluster,
        zone: spec.zone,
        profile: spec.profile,
        chipCount: hardware.chipCount,
        ...(config.kubernetesNode === undefined ? {} : { kubernetesNode: config.kubernetesNode }),
      },
      nc,
      heartbeatIntervalMs,
      incarnation,
      agentVersion: AGENT_VERSION,
      log,
      ...(sessionLog === undefined ? {} : { sessionLog, sessionOwner: (id: string) => ownership.currentOwner(id) }),
      ...(config.sessionIdleOffloadMs === undefined ? {} : { sessionIdleOffloadMs: config.sessionIdleOffloadMs }),
      ...(telemetry === undefined ? {} : { telemetry }),
      ...(telemetry !== undefined && config.probe?.kind === 'nvidia'
        ? { powerLimiter: nvidiaPowerLimiter(telemetry, { ...config.nvidiaPowerLimits, log }) }
        : {}),
      onResult: (result) => {
        const agent = agents.find((a) => a.nodeId === result.nodeId);
        if (agent !== undefined) metrics.observe(result, metered(agent));
      },
      backend: (listener) =>
        llama !== undefined
          ? llama.bind(listener)
          : config.backend === 'openai' && config.modelServer !== undefined
            ? new OpenAiBackend(
                {
                  baseUrl: config.modelServer.url,
                  models: spec.models,
                  api: config.modelServer.api,
                  maxConcurrency: config.modelServer.maxConcurrency,
                  maxQueue: config.modelServer.maxQueue,
                  requestTimeoutMs: config.modelServer.requestTimeoutMs ?? 60_000,
                  healthIntervalMs: heartbeatIntervalMs,
                  hardware,
                  modelSpecs: models,
                  // With an NVIDIA probe the cards take the limit themselves; shedding too would cap twice.
                  shedConcurrencyUnderPowerLimit: config.probe?.kind !== 'nvidia',
                  ...(config.modelServer.apiKey === undefined ? {} : { apiKey: config.modelServer.apiKey }),
                  ...(spec.powerLimitWatts === undefined ? {} : { powerLimitWatts: spec.powerLimitWatts }),
                },
                listener,
              )
            : config.backend === 'null'
              ? new NullBackend(hardware, spec.models, models, listener, spec.maxBatchSize, spec.powerLimitWatts)
              : new SimulatedBackend(
                  {
                    hardware,
                    models,
                    preloadedModels: spec.models,
                    seed: spec.seed,
                    ...(spec.maxBatchSize === undefined ? {} : { maxBatchSize: spec.maxBatchSize }),
                    ...(spec.powerLimitWatts === undefined ? {} : { powerLimitWatts: spec.powerLimitWatts }),
                  },
                  listener,
                ),
    });
  });
  for (const agent of agents) metrics.track(metered(agent));
  let ops: OpsServer | undefined;
  if (config.httpListen !== undefined) {
    try {
      ops = await startOpsServer(
        config.httpListen,
        {
          ...standardOpsRoutes({
            metrics,
            readiness: () => {
              if (!connection.up) return { ready: false, reason: 'not connected to NATS' };
              const waiting = agents.filter((agent) => !agent.registered).map((agent) => agent.nodeId);
              return waiting.length === 0
                ? { ready: true, reason: 'every node registered' }
                : { ready: false, reason: `not registered yet: ${waiting.slice(0, 10).join(', ')}` };
            },
          }),
        },
        (err, path) => log.error({ err: err instanceof Error ? err.message : String(err), path }, 'http route failed'),
      );
    } catch (err) {
      // A port in use must not leave a half-started process connected to NATS (or its probe running).
      await telemetry?.stop();
      await nc.close().catch(() => undefined);
      throw err;
    }
    log.info({ port: ops.port, host: config.httpListen.host }, 'http listening');
  }
  // Spread heartbeats of co-hosted nodes over the interval instead of bursting them together.
  agents.forEach((agent, i) =>
    setTimeout(() => agent.start(), Math.floor((i * heartbeatIntervalMs) / Math.max(1, agents.length))),
  );
  log.info({ nodes: agents.length, natsUrl: redactedUrl(config.natsUrl), incarnation }, 'agent host ready');
  let stopping: Promise<void> | undefined;
  return {
    agents,
    nc,
    metrics,
    httpPort: ops?.port,
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        await Promise.all(agents.map((agent) => agent.stop(graceMs)));
        await telemetry?.stop();
        await ops?.close();
        await nc.drain().catch(() => nc.close());
      })();
      return stopping;
    },
  };
}

/**
 * Loads a node's GGUF model for the llama-cpp backend. node-llama-cpp is imported here, not at the
 * top: it costs half a second and native code that agents on GPUs never use.
 */
async function loadLlamaModel(
  settings: NonNullable<AgentHostConfig['llamaCpp']>,
  spec: SimulatedNodeSpec,
  log: AgentLogger,
): Promise<LoadedLlamaCppModel> {
  const { LlamaCppBackend } = await import('./backends/llama-cpp/llama-cpp-backend.js');
  const profile = getProfile(spec.profile);
  if (profile === undefined) throw new AgentConfigError(`unknown profile ${spec.profile}`);
  const loaded = await LlamaCppBackend.load({
    modelPath: settings.modelPath,
    modelName: spec.models[0]!,
    maxConcurrency: settings.maxConcurrency,
    maxQueue: settings.maxQueue,
    hardware: { profile, chipCount: spec.chipCount ?? profile.referenceChipsPerNode },
    log,
    ...(settings.threads === undefined ? {} : { threads: settings.threads }),
    ...(spec.powerLimitWatts === undefined ? {} : { powerLimitWatts: spec.powerLimitWatts }),
  });
  log.info({ nodeId: spec.nodeId, model: spec.models[0], path: settings.modelPath }, 'llama.cpp model loaded');
  return loaded;
}
