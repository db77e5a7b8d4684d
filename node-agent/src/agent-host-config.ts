/**
 * What an agent process is told to host, and the checks that refuse a bad configuration before
 * anything connects: each node against the catalogue, and the backend and probe against the nodes.
 */
import { getProfile, type ModelSpec } from '@switchyard/fleet-model';
import { isSubjectToken, KubernetesName, type NatsCredentials, type OpsListen } from '@switchyard/protocol';
import type { OpenAiApi } from './backends/openai/openai-wire.js';
import type { HardwareProbe } from './hardware/probe.js';

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
 * Checks a whole host configuration: every node spec, the Kubernetes Node name, and that the
 * backend and the probe get the one node (and model) they need; throws AgentConfigError naming the problem.
 */
export function validateAgentHostConfig(
  config: AgentHostConfig,
  models: (name: string) => ModelSpec | undefined,
): void {
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
}
