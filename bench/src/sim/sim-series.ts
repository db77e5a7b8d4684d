/**
 * Power and utilisation per cluster over simulated time, from the heartbeats the simulator sends.
 * Every node heartbeats once per interval (spread over it), so heartbeat slot k holds each node's
 * sample once: a cluster's power in a slot is the sum of its nodes' samples, and its utilisation the
 * mean of their busy shares (Δ busy time ÷ interval: what nvidia-smi's utilization.gpu samples).
 * Slots are merged into at most `maxBuckets` equal buckets at the end so a day-long run still
 * draws as a few hundred points.
 */
import type { ClusterSeries } from '../plan/plan-report.js';

interface ClusterSlots {
  budgetWatts: number;
  readonly nodes: number;
  watts: number[];
  busy: number[];
}

export interface SimSeries {
  readonly bucketMs: number;
  readonly clusters: readonly ClusterSeries[];
  /** Highest bucket mean of the whole fleet's power (watts). */
  readonly peakFleetWatts: number;
}

export class SeriesRecorder {
  private readonly clusters = new Map<string, ClusterSlots>();

  constructor(
    private readonly slotMs: number,
    clusters: readonly { readonly name: string; readonly budgetWatts: number; readonly nodes: number }[],
  ) {
    for (const cluster of clusters) {
      this.clusters.set(cluster.name, { budgetWatts: cluster.budgetWatts, nodes: cluster.nodes, watts: [], busy: [] });
    }
  }

  /** A budget change during the run: the series keeps the lowest budget the cluster had (its binding one). */
  budgetChanged(cluster: string, budgetWatts: number): void {
    const slots = this.clusters.get(cluster);
    if (slots !== undefined)
      slots.budgetWatts = slots.budgetWatts > 0 ? Math.min(slots.budgetWatts, budgetWatts) : budgetWatts;
  }

  /** One node's heartbeat sample at virtual time `atMs`. */
  record(cluster: string, atMs: number, watts: number, busyShare: number): void {
    const slots = this.clusters.get(cluster);
    if (slots === undefined) return;
    const slot = Math.floor(atMs / this.slotMs);
    while (slots.watts.length <= slot) {
      slots.watts.push(0);
      slots.busy.push(0);
    }
    slots.watts[slot]! += watts;
    slots.busy[slot]! += busyShare;
  }

  /** The series in at most `maxBuckets` buckets covering [0, endMs]. */
  finish(endMs: number, maxBuckets = 240): SimSeries {
    const slots = Math.max(1, Math.ceil(endMs / this.slotMs));
    const perBucket = Math.max(1, Math.ceil(slots / maxBuckets));
    const buckets = Math.ceil(slots / perBucket);
    const fleet: number[] = Array.from({ length: buckets }, () => 0);
    const clusters = [...this.clusters].map(([name, data]): ClusterSeries => {
      const powerWatts: number[] = [];
      const utilisation: number[] = [];
      for (let b = 0; b < buckets; b++) {
        let watts = 0;
        let busy = 0;
        let counted = 0;
        for (let s = b * perBucket; s < Math.min(slots, (b + 1) * perBucket); s++) {
          watts += data.watts[s] ?? 0;
          busy += data.busy[s] ?? 0;
          counted++;
        }
        const meanWatts = counted === 0 ? 0 : watts / counted;
        powerWatts.push(meanWatts);
        utilisation.push(counted === 0 || data.nodes === 0 ? 0 : Math.min(1, busy / counted / data.nodes));
        fleet[b]! += meanWatts;
      }
      return { cluster: name, powerBudgetWatts: data.budgetWatts, powerWatts, utilisation };
    });
    return { bucketMs: perBucket * this.slotMs, clusters, peakFleetWatts: Math.max(0, ...fleet) };
  }
}
