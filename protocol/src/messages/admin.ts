import { z } from 'zod';
import { DurationMs, KubernetesName, Name, NonNegativeInt, SubjectToken, Version, Watts } from './common.js';
import { LoadedModel, Telemetry } from './node.js';
import { ClusterPower } from './power.js';

/** How the scheduler sees a node: reported state combined with its own failure detector and operator actions. */
export const NODE_VIEW_STATES = ['ready', 'suspect', 'dead', 'cordoned', 'draining'] as const;

/** What the Kubernetes API says about the Node an agent runs on. */
export const HOST_CONDITIONS = ['ready', 'cordoned', 'not-ready', 'deleted', 'unknown'] as const;

export const HostView = z.strictObject({
  kubernetesNode: KubernetesName,
  condition: z
    .enum(HOST_CONDITIONS)
    .describe(
      '`cordoned`: `spec.unschedulable`; `not-ready`: its Ready condition is not True; `deleted`: the Node was removed (its machine is going away); `unknown`: the scheduler has not seen this Node (yet). A cordoned, not-ready or deleted Node drains its agent nodes.',
    ),
  instanceType: z.string().max(128).optional().describe('Label `node.kubernetes.io/instance-type`.'),
  region: z.string().max(128).optional().describe('Label `topology.kubernetes.io/region`.'),
  zone: z.string().max(128).optional().describe('Label `topology.kubernetes.io/zone`.'),
  accelerator: z
    .string()
    .max(256)
    .optional()
    .describe(
      'The accelerator the Node advertises: GPU Feature Discovery `nvidia.com/gpu.product` with its count, or the `aws.amazon.com/neuron` / `nvidia.com/gpu` device-plugin capacity.',
    ),
});
export type HostView = z.infer<typeof HostView>;

export const NodeView = z.strictObject({
  nodeId: SubjectToken,
  cluster: Name,
  zone: Name,
  profile: Name,
  acceleratorCount: z.int().min(1),
  state: z.enum(NODE_VIEW_STATES),
  models: z.array(LoadedModel),
  queueDepth: NonNegativeInt,
  inFlight: NonNegativeInt,
  maxBatchSize: z.int().min(1),
  utilization: z.number().min(0).max(1),
  assumed: NonNegativeInt.describe('Placements sent to the node that it has not reported finished.'),
  hbmTotalBytes: NonNegativeInt,
  hbmUsedBytes: NonNegativeInt,
  powerDrawWatts: Watts,
  powerLimitWatts: Watts,
  temperatureC: z.number(),
  lastHeartbeatAgeMs: DurationMs,
  telemetry: Telemetry.optional().describe('As the node last reported it; absent for simulated figures.'),
  host: HostView.optional().describe('The Kubernetes Node the agent runs on, when it runs in Kubernetes.'),
});
export type NodeView = z.infer<typeof NodeView>;

/** Sums over a cluster's nodes: Watts' 10 MW bound is per node, and a cluster at the design's scale exceeds it. */
const ClusterWatts = z.number().min(0).max(1e12);

export const ClusterView = z.strictObject({
  cluster: Name,
  nodes: NonNegativeInt,
  readyNodes: NonNegativeInt,
  powerDrawWatts: ClusterWatts,
  powerLimitWatts: ClusterWatts,
  inFlight: NonNegativeInt,
  queueDepth: NonNegativeInt,
  batchSlots: NonNegativeInt.describe('Σ maxBatchSize of live nodes: in-flight / batchSlots is the batch occupancy.'),
  utilization: z.number().min(0).max(1).describe('Mean accelerator utilisation of live nodes (0 when none).'),
  power: ClusterPower.optional().describe("Budget accounting, for clusters in the scheduler's topology."),
});
export type ClusterView = z.infer<typeof ClusterView>;

/** `sy.v1.admin.status` request. */
export const StatusRequest = z.strictObject({
  v: Version,
  nodeLimit: z
    .int()
    .min(0)
    .max(1000)
    .default(200)
    .describe('At most this many nodes are listed (the reply must fit in one message).'),
});
export type StatusRequest = z.infer<typeof StatusRequest>;

export const StatusReply = z.strictObject({
  v: Version,
  ok: z.literal(true),
  schedulerId: SubjectToken,
  uptimeMs: z.number().min(0).max(Number.MAX_SAFE_INTEGER).describe('Time since the scheduler process started.'),
  totalNodes: NonNegativeInt,
  clusters: z.array(ClusterView),
  nodes: z.array(NodeView),
  counters: z.record(z.string().max(64), NonNegativeInt),
});
export type StatusReply = z.infer<typeof StatusReply>;

/** `sy.v1.admin.node.<verb>` request: cordon (no new work), uncordon, drain (cordon and wait for work to end). */
export const NodeCommand = z.strictObject({
  v: Version,
  nodeId: SubjectToken,
});
export type NodeCommand = z.infer<typeof NodeCommand>;

export const NodeCommandReply = z.strictObject({
  v: Version,
  ok: z.literal(true),
  node: NodeView,
});
export type NodeCommandReply = z.infer<typeof NodeCommandReply>;

/** KV bucket and key of the scheduler leader lease. */
export const LEADER_KV_BUCKET = 'sy_leader';
export const LEADER_KV_KEY = 'scheduler';

/**
 * The scheduler leader lease (value of `sy_leader/scheduler`). The leader rewrites it every third of
 * `leaseMs` by revision compare-and-set; a standby that sees the revision unchanged for `leaseMs`
 * claims it the same way, so exactly one claim wins.
 */
export const LeaderLease = z.strictObject({
  v: Version,
  holder: SubjectToken.describe('Scheduler id of the leader.'),
  term: z.int().min(1).describe('Increases by one on every change of leader.'),
  leaseMs: z.int().min(100).max(600_000),
});
export type LeaderLease = z.infer<typeof LeaderLease>;
