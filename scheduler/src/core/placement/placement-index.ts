import type { NodeHardware } from '@switchyard/fleet-model';
import type { IndexBucket, NodeRecord } from '../fleet/node-record.js';
import type { ClusterState } from '../topology/cluster-state.js';
import { ShapeCurves } from './estimate-floor.js';
import {
  BACKLOG_CLASSES,
  backlogClassFloor,
  backlogClassOf,
  ClassedOccupancy,
  LevelOccupancy,
  MEMORY_CLASSES,
  memoryClassOf,
} from './level-occupancy.js';

/**
 * Nodes of one family with the same load, prefill backlog and free-HBM class: to every scorer the
 * index serves, identical. Saturated nodes (full batch) are filed by backlog class instead (load −1,
 * `backlog` the class's least backlog): their queue wait depends on more than load, so they are
 * scored one by one.
 */
export class LoadBucket implements IndexBucket {
  readonly nodes: NodeRecord[] = [];
  /** Set when a member of a saturated bucket joined, left or changed load or reservations. */
  slotWaitStale = true;
  /** Least slot wait of the members we have reservations on (their mean service is known). */
  private knownWaitMs = Number.POSITIVE_INFINITY;
  /** Least number of requests waiting ahead on the members without reservations. */
  private unknownAhead = Number.POSITIVE_INFINITY;
  constructor(
    readonly family: NodeFamily,
    // Not readonly: a family reuses its emptied buckets (see NodeFamily.retire).
    public load: number,
    public backlog: number,
    public memoryClass: number,
    /** The backlog class of a saturated bucket; −1 for a bucket with a free slot. */
    readonly backlogClass = -1,
  ) {}

  /**
   * The least slot wait of the members (saturated buckets), for a request whose own service time
   * would be `ownServiceMs` on them: a floor to bound the bucket by before scoring its members one by
   * one. Recomputed over the members after a change, O(members).
   */
  slotWaitFloorMs(ownServiceMs: number): number {
    if (this.slotWaitStale) {
      let known = Number.POSITIVE_INFINITY;
      let unknown = Number.POSITIVE_INFINITY;
      for (const node of this.nodes) {
        if (node.reservations.size > 0) {
          const wait = slotWaitMs(node, 0);
          if (wait < known) known = wait;
        } else {
          const ahead = Math.max(0, node.load + 1 - node.maxBatchSize);
          if (ahead < unknown) unknown = ahead;
        }
      }
      this.knownWaitMs = known;
      this.unknownAhead = unknown;
      this.slotWaitStale = false;
    }
    const unknownWaitMs =
      this.unknownAhead === Number.POSITIVE_INFINITY
        ? this.unknownAhead
        : (this.unknownAhead * ownServiceMs) / this.family.maxBatchSize;
    return Math.min(this.knownWaitMs, unknownWaitMs);
  }
}

/**
 * The wait for a batch slot estimateOn predicts on a saturated node: (load + 1 − B) × the mean
 * predicted service of our reservations there / B, or of the request's own service time
 * (`ownServiceMs`) when we have none.
 */
export function slotWaitMs(node: NodeRecord, ownServiceMs: number): number {
  const waitingAhead = node.load + 1 - node.maxBatchSize;
  if (waitingAhead <= 0) return 0;
  const reservations = node.reservations.size;
  const meanServiceMs = reservations > 0 ? node.reservedServiceMs / reservations : ownServiceMs;
  return (waitingAhead * meanServiceMs) / node.maxBatchSize;
}

/** Emptied buckets a family keeps for reuse. */
const SPARE_BUCKETS = 4;

/** A node's power limit as estimateOn applies it: none (Infinity) when it reports 0. */
function limitOf(node: NodeRecord): number {
  return node.powerLimitWatts > 0 ? node.powerLimitWatts : Number.POSITIVE_INFINITY;
}

/** HBM free for new work, as the memory-fit filter counts it. */
export function freeHbmBytes(node: NodeRecord): number {
  return node.hbmTotalBytes - node.hbmUsedBytes - node.reservedKvBytes;
}

/**
 * Nodes with the same hardware, batch size, loaded models, cluster and exact power limit: equal
 * NodeRecord.familyKey, split further where the key rounds the limit or (outside a FleetView) two
 * nodes of one cluster name carry different cluster states. Members with the same load and backlog
 * estimate alike. Filed by load level (0 … maxBatchSize − 1), then prefill backlog and memory class;
 * saturated members by backlog class and memory class.
 */
export class NodeFamily {
  /** levels[load]: buckets of that load, ascending backlog (usually one). */
  readonly levels: (LoadBucket[] | undefined)[] = [];
  /** saturated[k × MEMORY_CLASSES + m]: saturated members of backlog class k and memory class m. */
  readonly saturated: (LoadBucket | undefined)[] = Array.from<LoadBucket | undefined>({
    length: BACKLOG_CLASSES * MEMORY_CLASSES,
  }).fill(undefined);
  readonly occupancy: LevelOccupancy;
  /** The occupancies a member counts in besides the shape's: the family's own and its group's. */
  readonly counted: readonly LevelOccupancy[];
  /** The shape's occupancies a member counts in (all nodes, and per loaded model). */
  readonly shapeCounted: readonly ClassedOccupancy[];
  readonly hardware: NodeHardware;
  readonly maxBatchSize: number;
  readonly clusterState: ClusterState | undefined;
  /** The power limit estimateOn applies to every member (Infinity: none). */
  readonly limitWatts: number;
  readonly loadedModels: ReadonlySet<string>;
  /** Emptied buckets kept for reuse. */
  private readonly spare: LoadBucket[] = [];

  constructor(
    /** Key in PlacementIndex.families. */
    readonly key: string,
    readonly familyKey: string,
    first: NodeRecord,
    readonly group: ShapeInCluster,
  ) {
    this.hardware = first.hardware;
    this.maxBatchSize = first.maxBatchSize;
    this.clusterState = first.clusterState;
    this.limitWatts = limitOf(first);
    this.loadedModels = first.loadedModels;
    this.occupancy = new LevelOccupancy(first.maxBatchSize);
    const counted = [this.occupancy, group.all];
    const shapeCounted = [group.shape.all];
    for (const model of this.loadedModels) {
      counted.push(group.warmOccupancy(model));
      shapeCounted.push(group.shape.warmOccupancy(model));
    }
    this.counted = counted;
    this.shapeCounted = shapeCounted;
  }

  get size(): number {
    return this.occupancy.size;
  }

  /** Whether `node` belongs here (its estimates equal those of members with the same load and backlog). */
  admits(node: NodeRecord): boolean {
    return (
      node.familyKey === this.familyKey && limitOf(node) === this.limitWatts && node.clusterState === this.clusterState
    );
  }

  /** Any member, to evaluate what all members share. */
  representative(): NodeRecord | undefined {
    const first = this.occupancy.nextLevel(0);
    if (first >= 0) return this.levels[first]?.[0]?.nodes[0];
    const k = this.occupancy.lowestSaturatedClass();
    if (k < 0) return undefined;
    for (let m = 0; m < MEMORY_CLASSES; m++) {
      const node = this.saturated[k * MEMORY_CLASSES + m]?.nodes[0];
      if (node !== undefined) return node;
    }
    return undefined;
  }

  /** The lowest occupied load level ≥ `from`, or −1. */
  nextLevel(from: number): number {
    return this.occupancy.nextLevel(from);
  }

  /** Saturated members of backlog class `k`, any memory class, in `into` (cleared first). */
  saturatedIn(k: number, into: NodeRecord[]): NodeRecord[] {
    into.length = 0;
    for (let m = 0; m < MEMORY_CLASSES; m++) {
      const bucket = this.saturated[k * MEMORY_CLASSES + m];
      if (bucket !== undefined) for (const node of bucket.nodes) into.push(node);
    }
    return into;
  }

  /** The bucket for a member with a free slot. */
  bucketFor(load: number, backlog: number, memoryClass: number): LoadBucket {
    let level = this.levels[load];
    if (level === undefined) {
      level = [];
      this.levels[load] = level;
    }
    for (const bucket of level) if (bucket.backlog === backlog && bucket.memoryClass === memoryClass) return bucket;
    let bucket = this.spare.pop();
    if (bucket === undefined) bucket = new LoadBucket(this, load, backlog, memoryClass);
    else {
      bucket.load = load;
      bucket.backlog = backlog;
      bucket.memoryClass = memoryClass;
    }
    level.push(bucket);
    if (level.length > 1) level.sort((a, b) => a.backlog - b.backlog || b.memoryClass - a.memoryClass);
    return bucket;
  }

  /** The bucket for a saturated member of backlog class `k` and memory class `m`. */
  saturatedFor(k: number, memoryClass: number): LoadBucket {
    const slot = k * MEMORY_CLASSES + memoryClass;
    let bucket = this.saturated[slot];
    if (bucket === undefined) {
      bucket = new LoadBucket(this, -1, backlogClassFloor(k), memoryClass, k);
      this.saturated[slot] = bucket;
    }
    return bucket;
  }

  /**
   * Drops an emptied bucket (saturated ones are kept: a bounded number per family), keeping a few
   * for reuse: a member whose load moves empties one bucket and needs another, heartbeat after
   * heartbeat, and making each anew was a tenth of heartbeat ingest (allocation and collection).
   */
  retire(bucket: LoadBucket): void {
    if (bucket.load < 0) return;
    const level = this.levels[bucket.load];
    if (level === undefined) return;
    const at = level.indexOf(bucket);
    if (at < 0) return;
    level.splice(at, 1);
    if (level.length === 0) this.levels[bucket.load] = undefined;
    if (this.spare.length < SPARE_BUCKETS) this.spare.push(bucket);
  }
}

/** A cluster with indexed nodes; `id` numbers it within its index, for per-decision tables. */
export class IndexedCluster {
  size = 0;
  /**
   * A node last filed here, to stand for the cluster in bounds (scorers read only its cluster
   * state); it may since have left, so users check that it still belongs to this cluster.
   */
  standIn: NodeRecord | undefined = undefined;
  constructor(
    readonly state: ClusterState | undefined,
    readonly id: number,
  ) {}
}

/** The families of one hardware shape in one cluster, with the occupancy of all and of each model's warm nodes. */
export class ShapeInCluster {
  readonly families: NodeFamily[] = [];
  readonly all: LevelOccupancy;
  private readonly warm = new Map<string, LevelOccupancy>();
  /** The least power limit of its families. */
  minLimitWatts = Number.POSITIVE_INFINITY;

  constructor(
    readonly shape: HardwareShape,
    readonly cluster: IndexedCluster,
  ) {
    this.all = new LevelOccupancy(shape.maxBatchSize);
  }

  private lastModel: string | undefined;
  private lastWarm: LevelOccupancy | undefined;

  /** Occupancy of the nodes with `model` loaded (undefined if none ever had). */
  warmFor(model: string): LevelOccupancy | undefined {
    // Consecutive decisions mostly ask about the same few catalogue names: skip the hash lookup.
    if (model !== this.lastModel) {
      this.lastModel = model;
      this.lastWarm = this.warm.get(model);
    }
    return this.lastWarm;
  }

  warmOccupancy(model: string): LevelOccupancy {
    let occupancy = this.warm.get(model);
    if (occupancy === undefined) {
      occupancy = new LevelOccupancy(this.shape.maxBatchSize);
      this.warm.set(model, occupancy);
      this.lastModel = undefined;
    }
    return occupancy;
  }

  added(family: NodeFamily): void {
    this.families.push(family);
    if (family.limitWatts < this.minLimitWatts) this.minLimitWatts = family.limitWatts;
  }

  removed(family: NodeFamily): void {
    const at = this.families.indexOf(family);
    if (at >= 0) this.families.splice(at, 1);
    this.minLimitWatts = Number.POSITIVE_INFINITY;
    for (const f of this.families) if (f.limitWatts < this.minLimitWatts) this.minLimitWatts = f.limitWatts;
  }

  /** Any member node, to stand for the cluster. */
  representative(): NodeRecord | undefined {
    for (const family of this.families) {
      const node = family.representative();
      if (node !== undefined) return node;
    }
    return undefined;
  }
}

/**
 * Nodes of one accelerator profile, chip count and batch limit in every cluster, either all uncapped
 * (a power limit at or above the most the node can demand decoding) or all capped: they share the
 * fleet model's curves. Its occupancies are classed by free HBM, for requests that need much of it.
 */
export class HardwareShape {
  readonly groups: ShapeInCluster[] = [];
  /** clusterIds[i] = groups[i].cluster.id, for a decision's per-cluster tables. */
  clusterIds = new Int32Array(0);
  readonly all: ClassedOccupancy;
  private readonly warm = new Map<string, ClassedOccupancy>();
  /** The least power limit of its families. */
  minLimitWatts = Number.POSITIVE_INFINITY;

  constructor(
    readonly key: string,
    readonly hardware: NodeHardware,
    readonly maxBatchSize: number,
    readonly curves: ShapeCurves,
    /** Whether the members' power limits slow some batch sizes down. */
    readonly capped: boolean,
  ) {
    this.all = new ClassedOccupancy(maxBatchSize);
  }

  private lastModel: string | undefined;
  private lastWarm: ClassedOccupancy | undefined;

  /** Occupancy of the nodes with `model` loaded (undefined if none ever had). */
  warmFor(model: string): ClassedOccupancy | undefined {
    if (model !== this.lastModel) {
      this.lastModel = model;
      this.lastWarm = this.warm.get(model);
    }
    return this.lastWarm;
  }

  warmOccupancy(model: string): ClassedOccupancy {
    let occupancy = this.warm.get(model);
    if (occupancy === undefined) {
      occupancy = new ClassedOccupancy(this.maxBatchSize);
      this.warm.set(model, occupancy);
      this.lastModel = undefined;
    }
    return occupancy;
  }

  groupIn(cluster: IndexedCluster): ShapeInCluster {
    for (const group of this.groups) if (group.cluster === cluster) return group;
    const group = new ShapeInCluster(this, cluster);
    this.groups.push(group);
    this.clusterIds = Int32Array.from(this.groups, (g) => g.cluster.id);
    return group;
  }

  added(family: NodeFamily): void {
    if (family.limitWatts < this.minLimitWatts) this.minLimitWatts = family.limitWatts;
  }

  removed(family: NodeFamily): void {
    const group = family.group;
    if (group.families.length === 0) {
      this.groups.splice(this.groups.indexOf(group), 1);
      this.clusterIds = Int32Array.from(this.groups, (g) => g.cluster.id);
    }
    this.minLimitWatts = Number.POSITIVE_INFINITY;
    for (const g of this.groups) if (g.minLimitWatts < this.minLimitWatts) this.minLimitWatts = g.minLimitWatts;
  }
}

/** Backlogs are capped at this when filing (beyond it, every node is equally far back). */
const MAX_FILED_BACKLOG = 1 << 20;

/**
 * Schedulable nodes grouped so that a decision looks at a handful of node states instead of every
 * node: hardware shapes (profile, chips, batch limit, capped or not) hold one group per cluster,
 * groups hold families (equal estimates at equal load), families hold buckets by load level, backlog
 * and free-HBM class. Each level keeps occupancies of load levels (all nodes, and each model's warm
 * ones), so a search can bound a shape or a group over the loads its nodes actually have. Kept
 * current by FleetView, which calls `changed` after every change placement may care about (status,
 * load, memory, reservations, liveness, operator state) and `removed` when a node leaves: O(models
 * loaded) each, plus O(families of the group) when a family appears or empties. Nothing here depends
 * on cluster power or latency, which a decision reads afresh.
 */
export class PlacementIndex {
  readonly families = new Map<string, NodeFamily>();
  readonly shapes = new Map<string, HardwareShape>();
  /** The same shapes, for iteration without an iterator. */
  readonly shapeList: HardwareShape[] = [];
  /** Clusters with (or once with) indexed nodes; `clusters[i].id === i`. */
  readonly clusters: IndexedCluster[] = [];
  private readonly clusterIds = new Map<ClusterState | undefined, IndexedCluster>();
  /** Fleet-model curves by profile, chips and batch limit (shared by a capped and an uncapped shape). */
  private readonly curves = new Map<string, ShapeCurves>();
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
    const memoryClass = memoryClassOf(freeHbmBytes(node));
    const current = node.indexBucket as LoadBucket | undefined;
    const stays = current !== undefined && current.family.admits(node);
    if (
      stays &&
      current.memoryClass === memoryClass &&
      (saturated
        ? current.backlogClass === backlogClassOf(backlog)
        : current.load === node.load && current.backlog === backlog)
    ) {
      // A saturated member's slot wait moves with its load and reservations.
      if (saturated) current.slotWaitStale = true;
      return;
    }
    let family: NodeFamily;
    if (stays) {
      // Load, backlog or memory moved within the family (most heartbeats and placements): the
      // family stays, even if the node was its only member, so nothing is built or torn down.
      family = current.family;
      this.leaveBucket(node, current);
    } else {
      // Detach first: it may retire an emptied bucket or family, which must not be reused below.
      this.detach(node);
      family = this.familyOf(node);
    }
    const { counted, shapeCounted } = family;
    let target: LoadBucket;
    if (saturated) {
      const k = backlogClassOf(backlog);
      target = family.saturatedFor(k, memoryClass);
      for (let i = 0; i < counted.length; i++) counted[i]!.addSaturated(k);
      for (let i = 0; i < shapeCounted.length; i++) shapeCounted[i]!.addSaturated(k, memoryClass);
    } else {
      target = family.bucketFor(node.load, backlog, memoryClass);
      for (let i = 0; i < counted.length; i++) counted[i]!.add(node.load);
      for (let i = 0; i < shapeCounted.length; i++) shapeCounted[i]!.add(node.load, memoryClass);
    }
    family.group.cluster.size++;
    family.group.cluster.standIn = node;
    node.indexBucket = target;
    node.indexSlot = target.nodes.length;
    target.nodes.push(node);
    target.slotWaitStale = true;
    this.indexed++;
  }

  /** Forgets a node that left the fleet. */
  removed(node: NodeRecord): void {
    this.detach(node);
  }

  private familyOf(node: NodeRecord): NodeFamily {
    let key = node.familyKey;
    let family = this.families.get(key);
    if (family !== undefined && !family.admits(node)) {
      // The family key rounds the power limit: nodes whose exact limits differ estimate differently.
      key = `${key}|${limitOf(node)}|${this.cluster(node.clusterState).id}`;
      family = this.families.get(key);
    }
    if (family !== undefined) return family;
    const { hardware, maxBatchSize } = node;
    const hardwareKey = `${hardware.profile.name}/${hardware.chipCount}/${maxBatchSize}`;
    let curves = this.curves.get(hardwareKey);
    if (curves === undefined) {
      curves = new ShapeCurves(hardware, maxBatchSize);
      this.curves.set(hardwareKey, curves);
    }
    const capped = limitOf(node) < curves.demandWatts[maxBatchSize]!;
    const shapeKey = capped ? `${hardwareKey}/capped` : hardwareKey;
    let shape = this.shapes.get(shapeKey);
    if (shape === undefined) {
      shape = new HardwareShape(shapeKey, hardware, maxBatchSize, curves, capped);
      this.shapes.set(shapeKey, shape);
      this.shapeList.push(shape);
    }
    const group = shape.groupIn(this.cluster(node.clusterState));
    family = new NodeFamily(key, node.familyKey, node, group);
    this.families.set(key, family);
    group.added(family);
    shape.added(family);
    return family;
  }

  private cluster(state: ClusterState | undefined): IndexedCluster {
    let cluster = this.clusterIds.get(state);
    if (cluster === undefined) {
      cluster = new IndexedCluster(state, this.clusters.length);
      this.clusters.push(cluster);
      this.clusterIds.set(state, cluster);
    }
    return cluster;
  }

  private detach(node: NodeRecord): void {
    const bucket = node.indexBucket as LoadBucket | undefined;
    if (bucket === undefined) return;
    this.leaveBucket(node, bucket);
    const family = bucket.family;
    if (family.size === 0) {
      const group = family.group;
      this.families.delete(family.key);
      group.removed(family);
      group.shape.removed(family);
      if (group.shape.groups.length === 0) {
        this.shapes.delete(group.shape.key);
        this.shapeList.splice(this.shapeList.indexOf(group.shape), 1);
      }
    }
  }

  /** Takes a node out of its bucket and the counts (the family stays, even empty). */
  private leaveBucket(node: NodeRecord, bucket: LoadBucket): void {
    const last = bucket.nodes.pop();
    if (last !== undefined && last !== node) {
      bucket.nodes[node.indexSlot] = last;
      last.indexSlot = node.indexSlot;
    }
    node.indexBucket = undefined;
    node.indexSlot = -1;
    bucket.slotWaitStale = true;
    const family = bucket.family;
    const { counted, shapeCounted } = family;
    if (bucket.load < 0) {
      for (let i = 0; i < counted.length; i++) counted[i]!.removeSaturated(bucket.backlogClass);
      for (let i = 0; i < shapeCounted.length; i++) {
        shapeCounted[i]!.removeSaturated(bucket.backlogClass, bucket.memoryClass);
      }
    } else {
      for (let i = 0; i < counted.length; i++) counted[i]!.remove(bucket.load);
      for (let i = 0; i < shapeCounted.length; i++) shapeCounted[i]!.remove(bucket.load, bucket.memoryClass);
    }
    family.group.cluster.size--;
    this.indexed--;
    if (bucket.nodes.length === 0) family.retire(bucket);
  }
}
