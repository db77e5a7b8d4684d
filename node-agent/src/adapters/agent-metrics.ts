import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { DEFAULT_SLO_TARGETS, type SloTargets } from '@switchyard/protocol';
import type { BackendStatus } from '../backends/backend.js';
import type { NodeResultEvent } from '../node-agent.js';

/** A node this process hosts, as its metrics read it. */
export interface MeteredNode {
  readonly nodeId: string;
  readonly cluster: string;
  readonly profile: string;
  readonly backendStatus: BackendStatus;
  readonly sessionCount: number;
  readonly utilization: number;
}

/** TTFT and request time: 10 ms … 10 min. */
const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
const LABELS = ['node', 'cluster', 'profile'] as const;

/**
 * The agent's Prometheus metrics (docs/metrics.md), on a registry of their own: gauges read each
 * hosted node's backend at scrape time; counters and histograms follow the requests leaving the
 * nodes (`observe`). Every series names its node, cluster and profile: one value each per node, and
 * a process hosts a handful.
 */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly gauges: readonly Gauge[];
  private readonly energy: Counter;
  private readonly tokens: Counter;
  private readonly requests: Counter;
  private readonly slo: Counter;
  private readonly ttft: Histogram;
  private readonly duration: Histogram;
  private readonly reconnects: Counter;

  constructor(
    nodes: () => readonly MeteredNode[],
    natsConnected: () => boolean,
    private readonly targets: SloTargets = DEFAULT_SLO_TARGETS,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const perNode = (name: string, help: string, read: (node: MeteredNode) => number): Gauge =>
      new Gauge({
        name,
        help,
        labelNames: LABELS,
        registers,
        collect() {
          this.reset();
          for (const node of nodes()) this.set(labelsOf(node), read(node));
        },
      });
    this.gauges = [
      perNode('switchyard_node_power_draw_watts', 'The accelerators’ draw.', (n) => n.backendStatus.powerDrawWatts),
      perNode('switchyard_node_power_limit_watts', 'The power limit in force.', (n) => n.backendStatus.powerLimitWatts),
      perNode(
        'switchyard_node_accelerator_utilization_ratio',
        'Busy fraction of the accelerators since the last heartbeat.',
        (n) => n.utilization,
      ),
      perNode('switchyard_node_hbm_used_bytes', 'Accelerator memory in use.', (n) => n.backendStatus.hbmUsedBytes),
      perNode('switchyard_node_hbm_total_bytes', 'Accelerator memory.', (n) => n.backendStatus.hbmTotalBytes),
      perNode('switchyard_node_requests_in_flight', 'Requests being served.', (n) => n.backendStatus.inFlight),
      perNode('switchyard_node_queue_depth', 'Requests waiting on the node.', (n) => n.backendStatus.queueDepth),
      perNode('switchyard_node_sessions_hosted', 'Sessions this node owns.', (n) => n.sessionCount),
      new Gauge({
        name: 'switchyard_nats_connected',
        help: '1 while connected to NATS.',
        registers,
        collect() {
          this.set(natsConnected() ? 1 : 0);
        },
      }),
    ];
    this.energy = new Counter({
      name: 'switchyard_node_energy_joules_total',
      help: 'Energy the accelerators used serving requests.',
      labelNames: LABELS,
      registers,
    });
    this.tokens = new Counter({
      name: 'switchyard_node_tokens_total',
      help: 'Tokens processed: prompt or output.',
      labelNames: [...LABELS, 'kind'],
      registers,
    });
    this.requests = new Counter({
      name: 'switchyard_node_requests_total',
      help: 'Requests served, by SLO class and outcome.',
      labelNames: [...LABELS, 'slo_class', 'outcome'],
      registers,
    });
    this.slo = new Counter({
      name: 'switchyard_node_slo_total',
      help: 'Finished requests against their SLO target: met or missed.',
      labelNames: [...LABELS, 'slo_class', 'result'],
      registers,
    });
    this.ttft = new Histogram({
      name: 'switchyard_node_ttft_seconds',
      help: 'Time to first token at the node.',
      labelNames: [...LABELS, 'slo_class'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.duration = new Histogram({
      name: 'switchyard_node_request_duration_seconds',
      help: 'Time to the last token at the node.',
      labelNames: [...LABELS, 'slo_class'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.reconnects = new Counter({
      name: 'switchyard_nats_reconnects_total',
      help: 'Reconnections to NATS.',
      registers,
    });
  }

  /**
   * Starts a hosted node's counters at 0 for every SLO class and outcome, so that rates and
   * attainment see "none yet" rather than no data before its first request.
   */
  track(node: MeteredNode): void {
    const labels = labelsOf(node);
    this.energy.inc(labels, 0);
    for (const kind of ['prompt', 'output']) this.tokens.inc({ ...labels, kind }, 0);
    for (const sloClass of ['interactive', 'standard', 'batch']) {
      for (const outcome of ['ok', 'error']) this.requests.inc({ ...labels, slo_class: sloClass, outcome }, 0);
      for (const result of ['met', 'missed']) this.slo.inc({ ...labels, slo_class: sloClass, result }, 0);
    }
  }

  /** Counts one request leaving a node. */
  observe(result: NodeResultEvent, node: MeteredNode): void {
    const labels = labelsOf(node);
    const byClass = { ...labels, slo_class: result.sloClass };
    this.requests.inc({ ...byClass, outcome: result.ok ? 'ok' : 'error' });
    this.slo.inc({ ...byClass, result: this.met(result) ? 'met' : 'missed' });
    this.energy.inc(labels, result.energyJoules);
    if (!result.ok) return;
    this.tokens.inc({ ...labels, kind: 'prompt' }, result.inputTokens);
    this.tokens.inc({ ...labels, kind: 'output' }, result.outputTokens);
    this.ttft.observe(byClass, result.ttftMs / 1000);
    this.duration.observe(byClass, result.totalMs / 1000);
  }

  reconnected(): void {
    this.reconnects.inc();
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Interactive work against its TTFT target; other work against its deadline, else its class target. */
  private met(result: NodeResultEvent): boolean {
    if (!result.ok) return false;
    if (result.sloClass === 'interactive') return result.ttftMs <= this.targets.interactiveTtftMs;
    const target =
      result.deadlineAfterMs ??
      (result.sloClass === 'standard' ? this.targets.standardTotalMs : this.targets.batchTotalMs);
    return result.totalMs <= target;
  }
}

function labelsOf(node: MeteredNode): Record<(typeof LABELS)[number], string> {
  return { node: node.nodeId, cluster: node.cluster, profile: node.profile };
}
