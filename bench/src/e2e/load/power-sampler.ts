import type { NatsConnection } from '@nats-io/transport-node';
import { decode, encode, type StatusReply, StatusResponse, subjects } from '@switchyard/protocol';

/** The fleet's draw at one moment, as the scheduler last heard it in heartbeats. */
export interface PowerSample {
  /** ms after the run started. */
  readonly atMs: number;
  /** Σ power draw of every cluster's live nodes. */
  readonly fleetWatts: number;
  readonly clusterWatts: Readonly<Record<string, number>>;
  readonly readyNodes: number;
}

/** Mean draw over a window of samples. */
export interface PowerSummary {
  /** Mean of the fleet's draw over the samples taken while load was offered; NaN when none. */
  readonly meanFleetWatts: number;
  readonly peakFleetWatts: number;
  readonly meanClusterWatts: Readonly<Record<string, number>>;
  readonly samples: number;
  /** Polls that got no status answer (not counted in the means). */
  readonly failedPolls: number;
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Asks the scheduler for its fleet status (cluster sums only); undefined when it does not answer. */
export async function fetchFleetStatus(nc: NatsConnection, timeoutMs = 1000): Promise<StatusReply | undefined> {
  try {
    const reply = await nc.request(subjects.adminStatus, encode({ v: 1, nodeLimit: 0 }), { timeout: timeoutMs });
    const decoded = decode(StatusResponse, reply.data);
    return decoded.ok && decoded.value.ok ? decoded.value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Polls the scheduler's fleet status every `intervalMs` and keeps each cluster's reported draw
 * (the nodes' heartbeats, summed by the scheduler), the way `switchyard status` reads it. One poll
 * at a time: a slow scheduler makes fewer samples, never a pile of requests.
 */
export class PowerSampler {
  private readonly samples: PowerSample[] = [];
  private failedPolls = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly startAtMs: number,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.polling ??= this.poll().finally(() => (this.polling = undefined));
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.polling;
  }

  /** The mean draw over samples taken in [0, untilMs] of the run (all samples when none fall in it). */
  summary(untilMs: number): PowerSummary {
    const inWindow = this.samples.filter((s) => s.atMs <= untilMs);
    const window = inWindow.length > 0 ? inWindow : this.samples;
    const clusters = [...new Set(window.flatMap((s) => Object.keys(s.clusterWatts)))].sort();
    return {
      meanFleetWatts: mean(window.map((s) => s.fleetWatts)),
      peakFleetWatts: window.length === 0 ? Number.NaN : Math.max(...window.map((s) => s.fleetWatts)),
      meanClusterWatts: Object.fromEntries(
        clusters.map((cluster) => [cluster, mean(window.map((s) => s.clusterWatts[cluster] ?? 0))]),
      ),
      samples: window.length,
      failedPolls: this.failedPolls,
    };
  }

  private async poll(): Promise<void> {
    const status = await fetchFleetStatus(this.nc);
    if (status === undefined) {
      this.failedPolls++;
      return;
    }
    this.samples.push({
      atMs: performance.now() - this.startAtMs,
      fleetWatts: status.clusters.reduce((sum, c) => sum + c.powerDrawWatts, 0),
      clusterWatts: Object.fromEntries(status.clusters.map((c) => [c.cluster, c.powerDrawWatts])),
      readyNodes: status.clusters.reduce((sum, c) => sum + c.readyNodes, 0),
    });
  }
}
