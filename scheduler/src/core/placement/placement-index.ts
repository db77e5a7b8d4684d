import type { IndexBucket, NodeRecord } from '../fleet/node-record.js';

/** Nodes of one family with the same load and prefill backlog: to an indexable scorer, identical. */
export class LoadBucket implements IndexBucket {
  readonly nodes: NodeRecord[] = [];
  constructor(
    readonly family: NodeFamily,
    readonly load: number,
    readonly backlog: number,
  ) {}
}

/**
 * Nodes with the same hardware, batch size and loaded models (equal NodeRecord.familyKey), filed
 * by load level (0 … maxBatchSize − 1) and, within a level, by prefill backlog. A bitmap of
 * occupied levels lets a search walk levels upward from the least loaded without visiting empty
 * ones. Nodes with a full batch are kept apart: their queue wait depends on more than load.
 */
export class NodeFamily {
  /** levels[load]: buckets of that load, one per distinct backlog (usually one). */
  readonly levels: (LoadBucket[] | undefined)[] = [];
  private readonly occupied: Uint32Array;
  readonly saturated: LoadBucket;
  size = 0;

  constructor(
    readonly key: string,
    readonly maxBatchSize: number,
  ) {
    this.occupied = new Uint32Array(Math.ceil(Math.max(1, maxBatchSize) / 32));
    this.saturated = new LoadBucket(this, -1, -1);
  }

  /** Any member, to evaluate what all members share. */
  representative(): NodeRecord | undefined {
    const first = this.nextLevel(0);
    return first < 0 ? this.saturated.nodes[0] : this.levels[first]?.[0]?.nodes[0];
  }

  /** The lowest occupied load level ≥ `from`, or −1. */
  nextLevel(from: number): number {
    let word = from >>> 5;
    if (word >= this.occupied.length) return -1;
    let bits = this.occupied[word]! & (~0 << (from & 31));
    for (;;) {
      if (bits !== 0) return (word << 5) + (31 - Math.clz32(bits & -bits));
      if (++word >= this.occupied.length) return -1;
      bits = this.occupied[word]!;
    }
  }

  bucketFor(load: number, backlog: number): LoadBucket {
    let level = this.levels[load];
    if (level === undefined) {
      level = [];
      this.levels[load] = level;
    }
    for (const bucket of level) if (bucket.backlog === backlog) return bucket;
    const bucket = new LoadBucket(this, load, backlog);
    level.push(bucket);
    if (level.length > 1) level.sort((a, b) => a.backlog - b.backlog);
    this.occupied[load >>> 5]! |= 1 << (load & 31);
    return bucket;
  }

  retire(bucket: LoadBucket): void {
    const level = this.levels[bucket.load];
    if (level === undefined) return;
    const at = level.indexOf(bucket);
    if (at >= 0) level.splice(at, 1);
    if (level.length === 0) {
      this.levels[bucket.load] = undefined;
      this.occupied[bucket.load >>> 5]! &= ~(1 << (bucket.load & 31));
    }
  }
}

/** Backlogs are capped at this when filing (beyond it, every node is equally far back). */
const MAX_FILED_BACKLOG = 1 << 20;

/**
 * Schedulable nodes grouped so that a decision scores each distinct node state once instead of
 * every node: by family (hardware, batch size, loaded models), then by load level and prefill
 * backlog. Kept current by FleetView, which calls `changed` after every change placement may care
 * about (status, load, reservations, liveness, operator state) and `removed` when a node leaves:
 * O(1) each. PlacementFramework searches it when every configured plugin declares what it depends
 * on, and falls back to the full scan otherwise, for explain mode and for rejection diagnostics.
 */
export class PlacementIndex {
  readonly families = new Map<string, NodeFamily>();
  private indexed = 0;

  /** Schedulable nodes currently indexed. */
  get size(): number {
    return this.indexed;
  }

  /** Re-files a node after a change (or drops it when it is no longer schedulable). */
  changed(node: NodeRecord): void {
    if (!node.schedulable) {
      this.detach(node);
      return;
    }
    const saturated = node.load + 1 > node.maxBatchSize;
    const backlog = Math.min(node.prefillBacklog, MAX_FILED_BACKLOG);
    const current = node.indexBucket as LoadBucket | undefined;
    if (
      current !== undefined &&
      current.family.key === node.familyKey &&
      (saturated ? current.load < 0 : current.load === node.load && current.backlog === backlog)
    ) {
      return;
    }
    // Detach first: it may retire an emptied bucket or family, which must not be reused below.
    this.detach(node);
    let family = this.families.get(node.familyKey);
    if (family === undefined) {
      family = new NodeFamily(node.familyKey, node.maxBatchSize);
      this.families.set(family.key, family);
    }
    const target = saturated ? family.saturated : family.bucketFor(node.load, backlog);
    node.indexBucket = target;
    node.indexSlot = target.nodes.length;
    target.nodes.push(node);
    family.size++;
    this.indexed++;
  }

  /** Forgets a node that left the fleet. */
  removed(node: NodeRecord): void {
    this.detach(node);
  }

  private detach(node: NodeRecord): void {
    const bucket = node.indexBucket as LoadBucket | undefined;
    if (bucket === undefined) return;
    const last = bucket.nodes.pop();
    if (last !== undefined && last !== node) {
      bucket.nodes[node.indexSlot] = last;
      last.indexSlot = node.indexSlot;
    }
    node.indexBucket = undefined;
    node.indexSlot = -1;
    const family = bucket.family;
    family.size--;
    this.indexed--;
    if (bucket.nodes.length === 0 && bucket.load >= 0) family.retire(bucket);
    if (family.size === 0) this.families.delete(family.key);
  }
}
