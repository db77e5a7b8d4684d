import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import {
  type BackendKind,
  DEFAULT_TINY_LLAMA_PATH,
  ensureTinyLlamaModel,
  PROBE_CHOICES,
  type ProbeChoice,
  selectProbe,
  type SimulatedNodeSpec,
  startAgentHost,
} from '@switchyard/node-agent';
import { parseOpsListen } from '@switchyard/protocol';
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

/** Node id from the host name, made into a subject token. */
/**
 * A node id (a subject token: [A-Za-z0-9_-], at most 64) from a host or Kubernetes Node name, which
 * may hold dots and be longer (`ip-10-0-1-5.us-west-2.compute.internal`). A shortened name keeps a
 * hash of the whole one, so two long names that share a prefix stay apart.
 */
export function nodeIdFromName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_-]/g, '-').replace(/^[-_]+/, '');
  if (cleaned === '') return 'node';
  if (cleaned.length <= 64) return cleaned;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${cleaned.slice(0, 55)}-${hash}`;
}

function defaultNodeId(values: OptionValues): string {
  const kubernetesNode = values['kubernetes-node'];
  return nodeIdFromName(typeof kubernetesNode === 'string' && kubernetesNode !== '' ? kubernetesNode : hostname());
}

export const agentCommand: Command = {
  name: 'agent',
  summary: 'run a node agent hosting one or more simulated accelerator nodes',
  options: {
    'node-id': {
      type: 'string',
      env: 'SWITCHYARD_NODE_ID',
      description: 'node id (one node) or prefix (with --nodes > 1); default: host name',
    },
    nodes: {
      type: 'string',
      env: 'SWITCHYARD_NODES',
      default: '1',
      description: 'simulated nodes to host in this process, named <node-id>-<i>',
    },
    cluster: {
      type: 'string',
      env: 'SWITCHYARD_CLUSTER',
      default: 'local',
      description: 'cluster (power domain) the nodes belong to',
    },
    zone: { type: 'string', env: 'SWITCHYARD_ZONE', default: 'local-a', description: 'availability zone' },
    profile: {
      type: 'string',
      env: 'SWITCHYARD_PROFILE',
      default: 'h100',
      description: 'accelerator profile: trn1, trn2, inf2, h100, h200, a100, l4',
    },
    chips: {
      type: 'string',
      env: 'SWITCHYARD_CHIPS',
      description: "accelerators per node (default: the profile's reference node)",
    },
    models: {
      type: 'string',
      env: 'SWITCHYARD_MODELS',
      default: 'llama-3.1-8b',
      description: 'comma-separated models loaded at start',
    },
    'max-batch-size': {
      type: 'string',
      env: 'SWITCHYARD_MAX_BATCH_SIZE',
      description: "continuous-batching limit (default: the profile's)",
    },
    'power-limit-watts': {
      type: 'string',
      env: 'SWITCHYARD_POWER_LIMIT_WATTS',
      description: 'node power limit at start (W), clamped to the hardware range; the scheduler may change it',
    },
    'heartbeat-interval-ms': {
      type: 'string',
      env: 'SWITCHYARD_HEARTBEAT_INTERVAL_MS',
      default: '1000',
      description: 'heartbeat interval',
    },
    seed: { type: 'string', env: 'SWITCHYARD_SEED', default: '1', description: 'seed of the simulated accelerators' },
    backend: {
      type: 'string',
      env: 'SWITCHYARD_BACKEND',
      default: 'simulated',
      description:
        'simulated (fleet-model accelerator), openai (a local OpenAI-compatible model server: vLLM, SGLang, TGI), llama-cpp (a GGUF model on this CPU), or null (answers at once; for overhead benchmarks)',
    },
    'model-path': {
      type: 'string',
      env: 'SWITCHYARD_MODEL_PATH',
      description:
        'with --backend llama-cpp: the GGUF file (default .switchyard/models/tiny-llama.gguf, generated when missing for --models tiny-llama)',
    },
    threads: { type: 'string', env: 'SWITCHYARD_THREADS', description: 'with --backend llama-cpp: CPU threads' },
    'model-server-url': {
      type: 'string',
      env: 'SWITCHYARD_MODEL_SERVER_URL',
      description: 'with --backend openai: the model server root, e.g. http://127.0.0.1:8000',
    },
    'model-server-api': {
      type: 'string',
      env: 'SWITCHYARD_MODEL_SERVER_API',
      default: 'completions',
      description: 'with --backend openai: completions (/v1/completions) or chat (/v1/chat/completions)',
    },
    'max-concurrency': {
      type: 'string',
      env: 'SWITCHYARD_MAX_CONCURRENCY',
      default: '16',
      description: 'with --backend openai or llama-cpp: requests run at once',
    },
    'max-queue': {
      type: 'string',
      env: 'SWITCHYARD_MAX_QUEUE',
      default: '256',
      description: 'with --backend openai or llama-cpp: requests waiting for a slot; more are refused',
    },
    probe: {
      type: 'string',
      env: 'SWITCHYARD_PROBE',
      default: 'simulated',
      description: `what reads the accelerators: ${PROBE_CHOICES.join(', ')} (auto: nvidia-smi, then neuron-ls, else simulated)`,
    },
    'nvidia-smi': {
      type: 'string',
      env: 'SWITCHYARD_NVIDIA_SMI',
      description: 'nvidia-smi executable (default: on PATH)',
    },
    'neuron-monitor': { type: 'string', env: 'SWITCHYARD_NEURON_MONITOR', description: 'neuron-monitor executable' },
    'neuron-ls': { type: 'string', env: 'SWITCHYARD_NEURON_LS', description: 'neuron-ls executable' },
    'power-limit-dry-run': {
      type: 'boolean',
      env: 'SWITCHYARD_POWER_LIMIT_DRY_RUN',
      description: 'log the nvidia-smi -pl commands a power limit would run, and change nothing',
    },
    'http-listen': {
      type: 'string',
      env: 'SWITCHYARD_HTTP_LISTEN',
      default: '0.0.0.0:9465',
      description: 'where to serve /metrics, /healthz and /readyz: host:port, :port, or off',
    },
    'kubernetes-node': {
      type: 'string',
      env: 'SWITCHYARD_KUBERNETES_NODE',
      description:
        'the Kubernetes Node this agent runs on (downward API spec.nodeName): the scheduler drains its nodes while that Node is cordoned or not Ready',
    },
    'drain-grace-ms': {
      type: 'string',
      env: 'SWITCHYARD_DRAIN_GRACE_MS',
      default: '10000',
      description: 'on SIGTERM, time running work has to finish',
    },
  },
  async run(values) {
    const count = intOption(values, 'nodes', 1, 10_000);
    const prefix = typeof values['node-id'] === 'string' ? values['node-id'] : defaultNodeId(values);
    const seed = intOption(values, 'seed', 0, 2 ** 31);
    const models = stringOption(values, 'models')
      .split(',')
      .map((m) => m.trim())
      .filter((m) => m !== '');
    if (models.length === 0) throw new UsageError('--models needs at least one model');
    const chips = typeof values['chips'] === 'string' ? intOption(values, 'chips', 1, 256) : undefined;
    const maxBatch =
      typeof values['max-batch-size'] === 'string' ? intOption(values, 'max-batch-size', 1, 65_536) : undefined;
    const powerLimitWatts =
      typeof values['power-limit-watts'] === 'string'
        ? intOption(values, 'power-limit-watts', 1, 10_000_000)
        : undefined;
    const nodes: SimulatedNodeSpec[] = Array.from({ length: count }, (_, i) => ({
      nodeId: count === 1 ? prefix : `${prefix}-${i}`,
      cluster: stringOption(values, 'cluster'),
      zone: stringOption(values, 'zone'),
      profile: stringOption(values, 'profile'),
      models,
      seed: seed * 7919 + i,
      ...(chips === undefined ? {} : { chipCount: chips }),
      ...(maxBatch === undefined ? {} : { maxBatchSize: maxBatch }),
      ...(powerLimitWatts === undefined ? {} : { powerLimitWatts }),
    }));
    const backend = stringOption(values, 'backend');
    if (!['simulated', 'null', 'openai', 'llama-cpp'].includes(backend))
      throw new UsageError(`--backend must be simulated, openai, llama-cpp or null, got ${backend}`);
    if (backend === 'llama-cpp' && (count !== 1 || models.length !== 1))
      throw new UsageError('--backend llama-cpp runs one model on one node: use --nodes 1 and one --models entry');
    const api = stringOption(values, 'model-server-api');
    if (api !== 'completions' && api !== 'chat')
      throw new UsageError(`--model-server-api must be completions or chat, got ${api}`);
    if (backend === 'openai' && typeof values['model-server-url'] !== 'string')
      throw new UsageError('--backend openai needs --model-server-url');
    if (backend === 'openai' && count !== 1)
      throw new UsageError('--backend openai serves one node per model server: use --nodes 1');
    const probeChoice = stringOption(values, 'probe');
    if (!(PROBE_CHOICES as readonly string[]).includes(probeChoice)) {
      throw new UsageError(`--probe must be one of ${PROBE_CHOICES.join(', ')}, got ${probeChoice}`);
    }
    if (probeChoice !== 'simulated' && count !== 1) {
      throw new UsageError(`--probe ${probeChoice} reads this machine's devices: use --nodes 1`);
    }
    const tool = (name: string): string | undefined => (typeof values[name] === 'string' ? values[name] : undefined);
    const nvidiaSmi = tool('nvidia-smi');
    const neuronMonitor = tool('neuron-monitor');
    const neuronLs = tool('neuron-ls');
    const probe = await selectProbe(probeChoice as ProbeChoice, {
      ...(nvidiaSmi === undefined ? {} : { nvidiaSmi }),
      ...(neuronMonitor === undefined ? {} : { neuronMonitor }),
      ...(neuronLs === undefined ? {} : { neuronLs }),
    });
    const httpListen = parseOpsListen(stringOption(values, 'http-listen'));
    const host = await startAgentHost({
      backend: backend as BackendKind,
      ...(httpListen === undefined ? {} : { httpListen }),
      natsUrl: natsUrlOf(values),
      natsCredentials: natsCredentialsOf(values),
      ...(typeof values['kubernetes-node'] === 'string' ? { kubernetesNode: values['kubernetes-node'] } : {}),
      logLevel: stringOption(values, 'log-level'),
      heartbeatIntervalMs: intOption(values, 'heartbeat-interval-ms', 50, 60_000),
      nodes,
      ...(probe === undefined ? {} : { probe }),
      ...(backend === 'llama-cpp'
        ? {
            llamaCpp: {
              modelPath: await llamaModelPath(values, models[0]!),
              maxConcurrency: intOption(values, 'max-concurrency', 1, 4_096),
              maxQueue: intOption(values, 'max-queue', 0, 1_000_000),
              ...(typeof values['threads'] === 'string' ? { threads: intOption(values, 'threads', 1, 1_024) } : {}),
            },
          }
        : {}),
      ...(backend === 'openai'
        ? {
            modelServer: {
              url: stringOption(values, 'model-server-url'),
              api,
              maxConcurrency: intOption(values, 'max-concurrency', 1, 4_096),
              maxQueue: intOption(values, 'max-queue', 0, 1_000_000),
            },
          }
        : {}),
      nvidiaPowerLimits: {
        dryRun: values['power-limit-dry-run'] === true,
        ...(nvidiaSmi === undefined ? {} : { binary: nvidiaSmi }),
      },
    });
    await untilSignal();
    await host.stop(intOption(values, 'drain-grace-ms', 0, 3_600_000));
    return 0;
  },
};

/**
 * The GGUF file for --backend llama-cpp: --model-path, or the generated tiny model, written (once,
 * deterministically) when the node serves tiny-llama and the file is not there yet.
 */
async function llamaModelPath(values: OptionValues, model: string): Promise<string> {
  if (typeof values['model-path'] === 'string') return resolve(values['model-path']);
  if (model !== 'tiny-llama') {
    throw new UsageError(`--backend llama-cpp serving ${model} needs --model-path (only tiny-llama is generated)`);
  }
  return (await ensureTinyLlamaModel(resolve(DEFAULT_TINY_LLAMA_PATH))).path;
}
