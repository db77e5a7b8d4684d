import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { clampPowerLimit, getModel, getProfile, type ModelSpec } from '@switchyard/fleet-model';
import {
  isSubjectToken,
  KubernetesName,
  natsAuthOptions,
  type NatsCredentials,
  natsServers,
  redactedUrl,
  type OpsListen,
  type OpsServer,
  standardOpsRoutes,
  startOpsServer,
} from '@switchyard/protocol';
import { pino } from 'pino';
import { NullBackend } from './backends/null-backend.js';
import { SimulatedBackend } from './backends/simulated-backend.js';
import { OpenAiBackend } from './backends/openai/openai-backend.js';
import type { OpenAiApi } from './backends/openai/openai-wire.js';
import type { LoadedLlamaCppModel } from './backends/llama-cpp/llama-cpp-backend.js';
import type { HardwareProbe } from './hardware/probe.js';
import { nvidiaPowerLimiter } from './hardware/power-limiter.js';
import { TelemetrySampler } from './hardware/telemetry-sampler.js';
import { type AgentLogger, NodeAgent } from './node-agent.js';
import { OwnershipReader } from './sessions/ownership-reader.js';
import { AgentMetrics, type MeteredNode } from './adapters/agent-metrics.js';
import { SessionLog } from './sessions/session-log.js';

export const AGENT_VERSION = '0.1.0';

/** One simulated node this process hosts. */
export interface SimulatedNodeSpec {
  readonly nodeId: string;
  readonly cluster: string;
  readonly zone: string;
  /** Accelerator profile name, e.g. trn2, h100, l4. */
  readonly profile: string;
  /** Chips on the node; default: the profile's reference node. */
  readonly chipCount?: number;
  /** Models loaded at start. */
  readonly models: readonly string[];
  readonly seed: number;
  readonly maxBatchSize?: number;
  /**
   * Node-wide power limit (W) an operator sets at start, clamped to the hardware's range; default
   * uncapped. The scheduler's power commands replace it later.
   */
  readonly powerLimitWatts?: number;
}

/**
 * `simulated`: the fleet model's accelerator; `null`: answers at once (measures protocol overhead);
 * `openai`: a local OpenAI-compatible model server (vLLM, SGLang, TGI) does the work;
 * `llama-cpp`: a GGUF model runs in this process on the CPU (llama.cpp).
 */
export type BackendKind = 'simulated' | 'null' | 'openai' | 'llama-cpp';

/** The model server an `openai` backend forwards to. */
export interface ModelServerConfig {
  /** Root URL, e.g. `http://127.0.0.1:8000`. */
  readonly url: string;
  readonly api: OpenAiApi;
  readonly maxConcurrency: number;
  readonly maxQueue: number;
  /** Longest the server may stay silent (before headers, between chunks); default 60 s. */
  readonly requestTimeoutMs?: number;
  readonly apiKey?: string;
}

export interface AgentHostConfig {
  readonly natsUrl: string;
  /** How to authenticate to NATS (default: no credentials). */
  readonly natsCredentials?: NatsCredentials;
  readonly nodes: readonly SimulatedNodeSpec[];
  /**
   * The Kubernetes Node this process runs on (downward API `spec.nodeName`): every node it hosts
   * reports it, and the scheduler drains them while that Node is cordoned or not Ready.
   */
  readonly kubernetesNode?: string;
  readonly heartbeatIntervalMs?: number;
  readonly logLevel?: string;
  readonly logDestination?: NodeJS.WritableStream;
  readonly models?: (name: string) => ModelSpec | undefined;
  readonly backend?: BackendKind;
  /** Required with `backend: 'openai'`. */
  readonly modelServer?: ModelServerConfig;
  /** Required with `backend: 'llama-cpp'`: the GGUF file, served as the node's one model. */
  readonly llamaCpp?: {
    readonly modelPath: string;
    readonly maxConcurrency: number;
    readonly maxQueue: number;
    readonly threads?: number;
  };
  /** Sessions idle this long drop their context from accelerator memory (default 5 minutes). */
  readonly sessionIdleOffloadMs?: number;
  /** Where to serve /metrics, /healthz and /readyz (default: not served). */
  readonly httpListen?: OpsListen;
  /**
   * The node's real accelerators (nvidia-smi, the Neuron tools); its readings replace the backend's
   * memory, power, temperature and utilisation in heartbeats. Only for a process hosting one node:
   * the devices belong to the machine.
   */
  readonly probe?: HardwareProbe;
  /** How the scheduler's power limits reach NVIDIA GPUs (with an nvidia probe). */
  readonly nvidiaPowerLimits?: { readonly binary?: string; readonly dryRun?: boolean };
}

/** Bad agent configuration, found before anything connects. */
export class AgentConfigError extends Error {
  override readonly name = 'AgentConfigError';
}

export interface AgentHostHandle {
  readonly agents: readonly NodeAgent[];
  readonly nc: NatsConnection;
  readonly metrics: AgentMetrics;
  /** The port of the operator HTTP endpoint, when `httpListen` was given. */
  readonly httpPort: number | undefined;
  /** Drains every node (bounded by `graceMs`), says goodbye, closes the connection. */
  stop(graceMs?: number): Promise<void>;
}

/** Checks a node spec against the catalogue; throws AgentConfigError naming the problem. */
export function validateNodeSpec(spec: SimulatedNodeSpec, models: (name: string) => ModelSpec | undefined): void {
  if (!isSubjectToken(spec.nodeId))
    throw new AgentConfigError(`node id ${JSON.stringify(spec.nodeId)} must be 1-64 of [A-Za-z0-9_-]`);
  const profile = getProfile(spec.profile);
  if (profile === undefined)
    throw new AgentConfigError(`node ${spec.nodeId}: unknown accelerator profile ${JSON.stringify(spec.profile)}`);
  if (
    spec.chipCount !== undefined &&
    !(Number.isInteger(spec.chipCount) && spec.chipCount >= 1 && spec.chipCount <= 256)
  ) {
    throw new AgentConfigError(`node ${spec.nodeId}: chip count must be an integer in 1..256`);
  }
  if (
    spec.powerLimitWatts !== undefined &&
    !(Number.isFinite(spec.powerLimitWatts) && spec.powerLimitWatts > 0 && spec.powerLimitWatts <= 10_000_000)
  ) {
    throw new AgentConfigError(`node ${spec.nodeId}: power limit must be a number of watts in (0, 10000000]`);
  }
  for (const name of spec.models) {
    if (models(name) === undefined)
      throw new AgentConfigError(`node ${spec.nodeId}: unknown model ${JSON.stringify(name)}`);
  }
}

/**
 * Composition root of an agent process: one NATS connection, one NodeAgent per hosted node, each
 * with a simulated accelerator. A real node hosts exactly one; dev fleets host many per process.
 * Every command names its node in the subject (assign, power, session adopt/release) and each
 * NodeAgent subscribes to its own, so the server routes them and the host needs no dispatcher.
 */
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

export async function startAgentHost(config: AgentHostConfig): Promise<AgentHostHandle> {
  const models = config.models ?? getModel;
  for (const spec of config.nodes) validateNodeSpec(spec, models);
  if (config.kubernetesNode !== undefined && !KubernetesName.safeParse(config.kubernetesNode).success) {
    throw new AgentConfigError(
      `kubernetes node "${config.kubernetesNode}" is not a Kubernetes object name (lowercase letters, digits, '-' and '.')`,
    );
  }
  if (config.backend === 'openai') {
    if (config.modelServer === undefined) throw new AgentConfigError('the openai backend needs a model server URL');
    if (config.nodes.length !== 1) {
      throw new AgentConfigError(`one model server is one node: host exactly one node, not ${config.nodes.length}`);
    }
  }
  if (config.backend === 'llama-cpp') {
    if (config.llamaCpp === undefined) throw new AgentConfigError('the llama-cpp backend needs a model path');
    if (config.nodes.length !== 1 || config.nodes[0]!.models.length !== 1) {
      throw new AgentConfigError('the llama-cpp backend runs one model on one node: host one node with one model');
    }
  }
  if (config.probe !== undefined && config.nodes.length !== 1) {
    throw new AgentConfigError(
      `a hardware probe (${config.probe.kind}) reads this machine's devices: host exactly one node, not ${config.nodes.length}`,
    );
  }
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
