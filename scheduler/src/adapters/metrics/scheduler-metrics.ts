import { SLO_CLASSES, type SloClass } from '@switchyard/protocol';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { FleetView } from '../../core/fleet/fleet-view.js';
import type { SessionRegistry } from '../../core/sessions/session-registry.js';
import type { ClassQueueStats } from '../../service/admission/admission-lane.js';
import { NODE_STATES, type NodeState, nodeStateOf } from '../../service/fleet-snapshot.js';
import type { Counters } from '../../service/ports.js';

/** What the scheduler's metrics read at scrape time. */
export interface SchedulerMetricsSource {
  readonly counters: Counters;
  readonly fleet: () => FleetView;
  readonly sessions: () => SessionRegistry;
  /** Queue figures per class while leading; undefined on a standby. */
  readonly queues: () => ((sloClass: SloClass) => ClassQueueStats) | undefined;
  readonly isLeader: () => boolean;
  readonly natsConnected: () => boolean;
}

/** Decision and plugin times: 1 µs … 50 ms. */
const DECISION_BUCKETS = [1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 0.05];
/** Admission waits and session moves: 1 ms … 2 min. */
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const STAGE_VALUE = { normal: 0, steer: 1, defer: 2, cap: 3 } as const;
/** Placement outcomes with their own label value; other codes count as `other`. */
const PLACEMENT_OUTCOMES: Readonly<Record<string, string>> = {
  placed: 'placed',
  NO_CAPACITY: 'no_capacity',
  DEADLINE_UNREACHABLE: 'deadline_unreachable',
};

/** Part `i` of a dotted counter name's tail ('unknown' when the name is shorter). */
function at(parts: readonly string[], i: number): string {
  return parts[i] ?? 'unknown';
}

/**
 * The scheduler's Prometheus metrics (docs/metrics.md), on a registry of their own. Gauges are read
 * from the live state at scrape time; counters follow the service's Counters (monotonic for the
 * process's life, across leadership terms), carried over as deltas at each scrape; histograms take
 * the services' observations as they happen.
 */
export class SchedulerMetrics {
  readonly registry = new Registry();
  /** Read at scrape time (kept so that they are visibly owned, not only registered). */
  readonly gauges: readonly Gauge[];
  /** Counter values already carried into Prometheus counters. */
  private readonly carried = new Map<string, number>();
  private readonly counterMap: readonly {
    readonly prefix: string;
    readonly apply: (rest: string[], delta: number) => void;
  }[];

  constructor(private readonly source: SchedulerMetricsSource) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const placements = new Counter({
      name: 'switchyard_placements_total',
      help: 'Placement decisions by SLO class and outcome.',
      labelNames: ['slo_class', 'outcome'],
      registers,
    });
    const decision = new Histogram({
      name: 'switchyard_placement_duration_seconds',
      help: 'Time of one placement decision.',
      labelNames: ['slo_class'],
      buckets: DECISION_BUCKETS,
      registers,
    });
    const plugin = new Histogram({
      name: 'switchyard_placement_plugin_duration_seconds',
      help: 'Time a placement plugin took over every node of a sampled decision.',
      labelNames: ['plugin', 'kind'],
      buckets: [...DECISION_BUCKETS, 0.25, 1],
      registers,
    });
    const admitted = new Counter({
      name: 'switchyard_requests_admitted_total',
      help: 'Requests accepted by admission control.',
      labelNames: ['slo_class'],
      registers,
    });
    const rejected = new Counter({
      name: 'switchyard_requests_rejected_total',
      help: 'Requests refused, by error code.',
      labelNames: ['slo_class', 'reason'],
      registers,
    });
    const finished = new Counter({
      name: 'switchyard_requests_finished_total',
      help: 'Accepted requests that ended: ok or the error code.',
      labelNames: ['slo_class', 'outcome'],
      registers,
    });
    const wait = new Histogram({
      name: 'switchyard_admission_wait_seconds',
      help: 'Time from admission to placement.',
      labelNames: ['slo_class'],
      buckets: WAIT_BUCKETS,
      registers,
    });
    const heartbeats = new Counter({
      name: 'switchyard_heartbeats_total',
      help: 'Heartbeats received, by outcome.',
      labelNames: ['outcome'],
      registers,
    });
    const deaths = new Counter({
      name: 'switchyard_node_deaths_total',
      help: 'Nodes declared dead by the failure detector.',
      registers,
    });
    const migrations = new Counter({
      name: 'switchyard_session_migrations_total',
      help: 'Session moves to another node, by outcome.',
      labelNames: ['outcome'],
      registers,
    });
    const migration = new Histogram({
      name: 'switchyard_session_migration_duration_seconds',
      help: 'Time a session move took, release to adoption.',
      buckets: WAIT_BUCKETS,
      registers,
    });
    const powerLimits = new Counter({
      name: 'switchyard_power_limit_changes_total',
      help: 'Node power-limit commands, by outcome.',
      labelNames: ['outcome'],
      registers,
    });
    const batchItems = new Counter({
      name: 'switchyard_batch_items_total',
      help: 'Durable batch items, by outcome.',
      labelNames: ['outcome'],
      registers,
    });
    const transitions = new Counter({
      name: 'switchyard_leader_transitions_total',
      help: 'Times this scheduler became leader.',
      registers,
    });
    const reconnects = new Counter({
      name: 'switchyard_nats_reconnects_total',
      help: 'Reconnections to NATS.',
      registers,
    });
    this.counterMap = [
      {
        prefix: 'placements.by-class.',
        apply: (rest, d) =>
          placements.inc({ slo_class: at(rest, 0), outcome: PLACEMENT_OUTCOMES[at(rest, 1)] ?? 'other' }, d),
      },
      { prefix: 'requests.admitted.', apply: (rest, d) => admitted.inc({ slo_class: at(rest, 0) }, d) },
      {
        prefix: 'requests.rejected.',
        apply: (rest, d) => rejected.inc({ slo_class: at(rest, 0), reason: at(rest, 1) }, d),
      },
      {
        prefix: 'requests.finished.',
        apply: (rest, d) => finished.inc({ slo_class: at(rest, 0), outcome: at(rest, 1) }, d),
      },
      { prefix: 'heartbeats.', apply: (rest, d) => heartbeats.inc({ outcome: at(rest, 0) }, d) },
      { prefix: 'dropped.unknown-node', apply: (_, d) => heartbeats.inc({ outcome: 'unknown_node' }, d) },
      { prefix: 'nodes.died', apply: (_, d) => deaths.inc(d) },
      { prefix: 'sessions.moved', apply: (_, d) => migrations.inc({ outcome: 'ok' }, d) },
      { prefix: 'sessions.move-failed', apply: (_, d) => migrations.inc({ outcome: 'failed' }, d) },
      { prefix: 'power.limits.lowered', apply: (_, d) => powerLimits.inc({ outcome: 'applied' }, d) },
      { prefix: 'power.limits.raised', apply: (_, d) => powerLimits.inc({ outcome: 'applied' }, d) },
      { prefix: 'power.limits.failed', apply: (_, d) => powerLimits.inc({ outcome: 'failed' }, d) },
      { prefix: 'batches.items.', apply: (rest, d) => batchItems.inc({ outcome: at(rest, 0) }, d) },
      { prefix: 'nats.reconnects', apply: (_, d) => reconnects.inc(d) },
    ];

    // Series exist from the start at 0 for every known label value, so that rates and alerts see
    // "none yet" rather than no data (Prometheus practice for counters with known labels).
    for (const sloClass of SLO_CLASSES) {
      for (const outcome of new Set(Object.values(PLACEMENT_OUTCOMES)))
        placements.inc({ slo_class: sloClass, outcome }, 0);
      placements.inc({ slo_class: sloClass, outcome: 'other' }, 0);
      admitted.inc({ slo_class: sloClass }, 0);
      finished.inc({ slo_class: sloClass, outcome: 'ok' }, 0);
    }
    for (const outcome of ['applied', 'stale', 'unknown_node', 'invalid']) heartbeats.inc({ outcome }, 0);
    for (const outcome of ['ok', 'failed']) migrations.inc({ outcome }, 0);
    for (const outcome of ['applied', 'failed']) powerLimits.inc({ outcome }, 0);
    for (const outcome of ['accepted', 'completed', 'failed']) batchItems.inc({ outcome }, 0);

    // Observations come on hot paths (every decision): one map lookup to a pre-labelled child, no
    // label hashing or string slicing per observation.
    const observers = new Map<string, (seconds: number) => void>();
    for (const sloClass of SLO_CLASSES) {
      const decisionChild = decision.labels({ slo_class: sloClass });
      const waitChild = wait.labels({ slo_class: sloClass });
      observers.set(`placement.decision.${sloClass}`, (seconds) => decisionChild.observe(seconds));
      observers.set(`admission.wait.${sloClass}`, (seconds) => waitChild.observe(seconds));
    }
    observers.set('sessions.migration', (seconds) => migration.observe(seconds));
    source.counters.onObserve((name, seconds) => {
      const observer = observers.get(name);
      if (observer !== undefined) observer(seconds);
      else if (name.startsWith('placement.plugin.')) {
        // A handful of plugins, sampled every few seconds.
        const [kind, ...rest] = name.slice(17).split('.');
        plugin.observe({ kind: kind ?? 'filter', plugin: rest.join('.') }, seconds);
      }
    });

    let leaderBefore = false;
    const gauges: Gauge[] = [];
    gauges.push(
      new Gauge({
        name: 'switchyard_leader',
        help: '1 while this scheduler leads, 0 while it stands by.',
        registers,
        collect() {
          const leader = source.isLeader();
          if (leader && !leaderBefore) transitions.inc();
          leaderBefore = leader;
          this.set(leader ? 1 : 0);
        },
      }),
    );
    gauges.push(
      new Gauge({
        name: 'switchyard_nats_connected',
        help: '1 while connected to NATS.',
        registers,
        collect() {
          this.set(source.natsConnected() ? 1 : 0);
        },
      }),
    );
    gauges.push(
      new Gauge({
        name: 'switchyard_nodes',
        help: 'Nodes by cluster and state.',
        labelNames: ['cluster', 'state'],
        registers,
        collect() {
          this.reset();
          const counts = new Map<string, Record<NodeState, number>>();
          for (const node of source.fleet().nodes) {
            let byState = counts.get(node.cluster);
            if (byState === undefined) {
              byState = { ready: 0, suspect: 0, dead: 0, cordoned: 0, draining: 0, anomalous: 0 };
              counts.set(node.cluster, byState);
            }
            byState[nodeStateOf(node)]++;
          }
          for (const [cluster, byState] of counts) {
            for (const state of NODE_STATES) this.set({ cluster, state }, byState[state]);
          }
        },
      }),
    );
    gauges.push(
      new Gauge({
        name: 'switchyard_sessions',
        help: 'Sessions by state.',
        labelNames: ['state'],
        registers,
        collect() {
          const registry = source.sessions();
          const fleet = source.fleet();
          // Without a live owner a session is between nodes (moving, or waiting to be moved).
          const migrating = registry.orphans((nodeId) => fleet.get(nodeId)?.liveness === 'alive').length;
          this.set({ state: 'active' }, registry.size - migrating);
          this.set({ state: 'migrating' }, migrating);
        },
      }),
    );
    gauges.push(
      new Gauge({
        name: 'switchyard_admission_queue_depth',
        help: 'Requests in a class queue: queued for a slot, waiting for room, placed.',
        labelNames: ['slo_class', 'state'],
        registers,
        collect() {
          this.reset();
          const queues = source.queues();
          if (queues === undefined) return;
          for (const sloClass of SLO_CLASSES) {
            const stats = queues(sloClass);
            this.set({ slo_class: sloClass, state: 'queued' }, stats.queued);
            this.set({ slo_class: sloClass, state: 'waiting' }, stats.waitingForCapacity);
            this.set({ slo_class: sloClass, state: 'placed' }, stats.placed);
          }
        },
      }),
    );
    gauges.push(
      new Gauge({
        name: 'switchyard_admission_queue_limit',
        help: 'A class queue’s limit on waiting requests.',
        labelNames: ['slo_class'],
        registers,
        collect() {
          this.reset();
          const queues = source.queues();
          if (queues === undefined) return;
          for (const sloClass of SLO_CLASSES) this.set({ slo_class: sloClass }, queues(sloClass).maxQueued);
        },
      }),
    );
    const clusterGauge = (name: string, help: string, read: (c: ClusterFigures) => number | undefined): void => {
      gauges.push(
        new Gauge({
          name,
          help,
          labelNames: ['cluster'],
          registers,
          collect() {
            this.reset();
            for (const cluster of clusterFigures(source.fleet())) {
              const value = read(cluster);
              if (value !== undefined) this.set({ cluster: cluster.name }, value);
            }
          },
        }),
      );
    };
    clusterGauge('switchyard_cluster_power_draw_watts', 'Measured draw of a cluster.', (c) => c.measuredWatts);
    clusterGauge(
      'switchyard_cluster_power_committed_watts',
      'Measured draw plus the predicted draw of work placed since.',
      (c) => c.committedWatts,
    );
    clusterGauge('switchyard_cluster_power_budget_watts', 'A cluster’s power budget.', (c) => c.budgetWatts);
    clusterGauge('switchyard_cluster_power_stage', '0 normal, 1 steer, 2 defer, 3 cap.', (c) => c.stage);
    this.gauges = gauges;
  }

  /** The exposition text (what /metrics serves). */
  async text(): Promise<string> {
    this.carryCounters();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Carries counter increases since the last scrape into the Prometheus counters. */
  private carryCounters(): void {
    for (const [name, value] of Object.entries(this.source.counters.snapshot())) {
      const delta = value - (this.carried.get(name) ?? 0);
      if (delta <= 0) continue;
      const mapping = this.counterMap.find((m) => name.startsWith(m.prefix));
      this.carried.set(name, value);
      if (mapping === undefined) continue;
      mapping.apply(name.slice(mapping.prefix.length).split('.'), delta);
    }
  }
}

interface ClusterFigures {
  readonly name: string;
  readonly measuredWatts: number;
  readonly committedWatts: number;
  readonly budgetWatts: number | undefined;
  readonly stage: number;
}

function clusterFigures(fleet: FleetView): ClusterFigures[] {
  return [...fleet.topology.all()].map((state) => ({
    name: state.name,
    measuredWatts: state.measuredWatts,
    committedWatts: state.committedWatts,
    budgetWatts: state.budgeted ? state.budgetWatts : undefined,
    stage: STAGE_VALUE[state.stage],
  }));
}
