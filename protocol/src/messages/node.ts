import { z } from 'zod';
import { DurationMs, EpochMs, KubernetesName, Name, NonNegativeInt, SubjectToken, Version, Watts } from './common.js';

export const NODE_STATES = ['ready', 'draining'] as const;
export const TELEMETRY_SOURCES = ['simulated', 'nvidia', 'neuron'] as const;
/** Why a hardware probe could not read (see node-agent/src/hardware/probe.ts). */
export const PROBE_ERROR_CODES = ['PROBE_UNAVAILABLE', 'PROBE_TIMEOUT', 'PROBE_FAILED', 'PROBE_OUTPUT'] as const;

/** Where a node's accelerator figures come from, and whether its hardware probe is failing (degraded). */
export const Telemetry = z.strictObject({
  source: z
    .enum(TELEMETRY_SOURCES)
    .describe('Where the accelerator figures come from: the simulated engine, nvidia-smi, or the Neuron tools.'),
  devices: z.int().min(0).max(256).describe('Devices the last successful read found.'),
  error: z
    .strictObject({
      code: z.enum(PROBE_ERROR_CODES),
      message: z.string().max(500),
    })
    .optional()
    .describe(
      'Set while the probe fails: the node is degraded, and the figures above are from its last good read (or the configured profile when there was none).',
    ),
});
export type Telemetry = z.infer<typeof Telemetry>;

/** A model on a node. `loading` models count against memory but cannot serve yet. */
export const LoadedModel = z.strictObject({
  name: Name,
  state: z.enum(['loaded', 'loading']),
});
export type LoadedModel = z.infer<typeof LoadedModel>;

/** Everything a node reports about itself; sent whole in every heartbeat so one message rebuilds the view. */
export const NodeStatusFields = {
  v: Version,
  nodeId: SubjectToken.describe('Must equal the <nodeId> token of the subject it is published on.'),
  incarnation: SubjectToken.describe(
    'Changes every time the agent process starts; lets the scheduler tell a restart from a gap.',
  ),
  seq: NonNegativeInt.describe(
    'Increases by one per heartbeat within an incarnation; older or repeated values are ignored.',
  ),
  sentAtMs: EpochMs,
  cluster: Name,
  zone: Name,
  state: z.enum(NODE_STATES).describe('`draining`: the agent is shutting down and takes no new work.'),
  accelerator: z.strictObject({
    profile: Name.describe('Accelerator profile name, e.g. trn2, h100, l4.'),
    count: z.int().min(1).max(256),
    hbmTotalBytes: NonNegativeInt,
    hbmUsedBytes: NonNegativeInt,
  }),
  models: z.array(LoadedModel).max(64),
  queueDepth: NonNegativeInt.describe('Requests accepted but not yet running.'),
  inFlight: NonNegativeInt.describe('Requests running (prefill or decode).'),
  maxBatchSize: z.int().min(1).max(65_536),
  utilization: z
    .number()
    .min(0)
    .max(1)
    .describe(
      'Share of the last heartbeat interval the accelerators were computing (what nvidia-smi reports as utilization.gpu).',
    ),
  powerDrawWatts: Watts,
  powerLimitWatts: Watts,
  temperatureC: z.number().min(-50).max(200),
  telemetry: Telemetry.optional().describe('Absent from agents older than this field; they report simulated figures.'),
  kubernetesNode: KubernetesName.optional().describe(
    'The Kubernetes Node the agent runs on (downward API `spec.nodeName`); absent outside Kubernetes. The scheduler reads that Node for instance type, zone, region and accelerator labels, and drains the node while the Node is cordoned or not Ready.',
  ),
};

/** `sy.v1.agent.<nodeId>.heartbeat`: periodic full status of one node. */
export const Heartbeat = z.strictObject(NodeStatusFields);
export type Heartbeat = z.infer<typeof Heartbeat>;

/** `sy.v1.agent.<nodeId>.register`: first message of an agent; same fields as a heartbeat plus its settings. */
export const Registration = z.strictObject({
  ...NodeStatusFields,
  agentVersion: z.string().min(1).max(64),
  heartbeatIntervalMs: z.int().min(50).max(60_000),
});
export type Registration = z.infer<typeof Registration>;

/** Reply to a registration. */
export const RegistrationAck = z.strictObject({
  v: Version,
  ok: z.literal(true),
  schedulerId: SubjectToken,
  suspectAfterMs: DurationMs.describe('A node silent this long is suspect: no new work.'),
  deadAfterMs: DurationMs.describe('A node silent this long is dead: its work is re-placed or failed.'),
});
export type RegistrationAck = z.infer<typeof RegistrationAck>;

/** `sy.v1.agent.<nodeId>.deregister`: the agent is leaving on purpose (its running work has ended). */
export const Deregistration = z.strictObject({
  v: Version,
  nodeId: SubjectToken,
  incarnation: SubjectToken,
  reason: z.string().max(256),
});
export type Deregistration = z.infer<typeof Deregistration>;

/** `sy.v1.node.<nodeId>.notice`: the scheduler tells an agent something about its standing. */
export const NodeNotice = z.strictObject({
  v: Version,
  action: z.enum(['register']).describe('`register`: the scheduler does not know this node; send a registration.'),
  reason: z.string().max(512),
});
export type NodeNotice = z.infer<typeof NodeNotice>;
