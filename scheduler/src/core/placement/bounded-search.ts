import { modelLoadMs } from '@switchyard/fleet-model';
import type { PowerStage } from '@switchyard/protocol';
import type { NodeRecord } from '../fleet/node-record.js';
import { BoundQueue } from './bound-queue.js';
import { Incumbent, type BoundedPick } from './search-incumbent.js';

export type { BoundedPick } from './search-incumbent.js';
import { type DecodeCurve, EstimateFloor, type FloorSetting } from './estimate-floor.js';
import { backlogClassFloor, type ClassedOccupancy, MEMORY_CLASSES, memoryClassOf } from './level-occupancy.js';
import {
  type HardwareShape,
  type IndexedCluster,
  type LoadBucket,
  type NodeFamily,
  type PlacementIndex,
  type ShapeInCluster,
  slotWaitMs as predictedSlotWaitMs,
} from './placement-index.js';
import type { Candidate, Estimate, Filter, PlacementContext, PlacementRequest } from './types.js';

// Kinds of queued items (BoundQueue.kind).
/** All of a shape's nodes: bounded once, split into its warm and cold parts when it comes up. */
const SHAPE = 4;
/** A shape's warm or cold nodes with a free slot and load lo … hi, in any of its clusters. */
const SHAPE_RANGE = 0;
/** A shape's warm or cold saturated nodes of backlog class `lo`, in any of its clusters. */
const SHAPE_SATURATED = 1;
/** A shape's warm or cold nodes in one cluster with load `lo`. */
const GROUP_LEVEL = 2;
/** A shape's warm or cold saturated nodes in one cluster of backlog class `lo`. */
const GROUP_SATURATED = 3;

/** Ranges narrower than this many levels are bounded level by level instead of split in two. */
const ENUMERATE_SPAN = 8;
/** A level whose bound is within this of its range's reaches it (floors of one level and of a range round alike). */
const PEEL_TOLERANCE = 1e-12;
const STAGE_SEVERITY: Readonly<Record<PowerStage, number>> = { normal: 0, steer: 1, defer: 2, cap: 3 };

/** What the bounded search needs from the framework: filters split by scope and the weighted score. */
export interface BoundedPipeline {
  readonly familyFilters: readonly Filter[];
  readonly loadFilters: readonly Filter[];
  readonly nodeFilters: readonly Filter[];
  /** Filters that declare the free HBM they require (minFreeHbmBytes). */
  readonly memoryFilters: readonly Filter[];
  /**
   * The framework's clamped, weighted, normalised score of a candidate. Every scorer is
   * `estimateMonotone`, so on a candidate whose estimate is a floor over a set of nodes it bounds them all.
   */
  score(request: PlacementRequest, candidate: Candidate): number;
  /** Points the reusable exact candidate at a node. */
  focus(node: NodeRecord, request: PlacementRequest): Candidate;
}

/** A candidate whose estimate is a floor over many nodes; `node` only stands for their (mildest) cluster. */
class FloorCandidate implements Candidate {
  node!: NodeRecord;
  readonly floor = new EstimateFloor();
  estimate(): Estimate {
    return this.floor;
  }
}

class Setting implements FloorSetting {
  networkMs = 0;
  coldStart = false;
  loadMs = 0;
  limitWatts = Number.POSITIVE_INFINITY;
  exactLimit = false;
}

function passes(filters: readonly Filter[], request: PlacementRequest, candidate: Candidate): boolean {
  for (let f = 0; f < filters.length; f++) if (!filters[f]!.admits(request, candidate)) return false;
  return true;
}

/**
 * Exact best-score search over the placement index for scorers that are monotone in the estimate
 * but not in load (slo-aware: energy per token falls as a batch fills). Branch and bound, best bound
 * first, over the load levels of each hardware shape: a range of levels holding some of the shape's
 * warm (model loaded) or cold nodes is bounded by scoring a field-wise floor of the estimate over
 * them (EstimateFloor, with the least round trip and the mildest power stage among the shape's
 * clusters), and split in two until one level is left; that level is then bounded per cluster, and a
 * cluster's level scored exactly, once per bucket (members estimate alike). Saturated nodes go by
 * backlog class the same way and are scored one by one. Anything whose bound cannot beat the best
 * found by more than the tie tolerance is dropped (but for a few that can tie it: see Incumbent), so
 * the result has the best score a full scan finds (within 1e-9); among equal scores it picks at
 * random from the buckets and nodes it scored (weighting buckets by size), not from every tied node
 * in the fleet as the scan does. Undefined when no indexed node
 * passes every filter (the caller then scans, for diagnostics). Reads cluster power and latency
 * afresh on every call and keeps nothing between calls but reusable arrays.
 */
export class BoundedSearch {
  private readonly queue = new BoundQueue();
  private readonly floorCandidate = new FloorCandidate();
  private readonly spareFloor = new EstimateFloor();
  private readonly setting = new Setting();
  private networkByCluster = new Float64Array(16);
  private severityByCluster = new Float64Array(16);
  private pipeline!: BoundedPipeline;
  private request!: PlacementRequest;
  private rng!: () => number;
  private readonly incumbent = new Incumbent();
  /** Where iteration over a shape's groups starts this decision, so that tied clusters take turns. */
  private rotation = 0;
  /** The least free-HBM class a warm (cold) node must be in to pass the filters. */
  private minClassWarm = 0;
  private minClassCold = 0;

  search(
    pipeline: BoundedPipeline,
    request: PlacementRequest,
    index: PlacementIndex,
    context: PlacementContext,
  ): BoundedPick | undefined {
    this.pipeline = pipeline;
    this.request = request;
    this.rng = context.rng;
    this.incumbent.reset(context.rng);
    this.rotation = Math.floor(context.rng() * 0x40000000);
    this.queue.clear();
    this.readClusters(index.clusters);
    this.minClassWarm = this.minMemoryClass(false);
    this.minClassCold = this.minMemoryClass(true);

    const shapes = index.shapeList;
    for (let s = 0; s < shapes.length; s++) {
      const shape = shapes[s]!;
      const curve = shape.curves.forModel(request.model);
      if (curve !== undefined) this.queueShape(shape, curve);
    }
    const queue = this.queue;
    for (let item = queue.pop(); item >= 0; item = queue.pop()) {
      const bound = queue.bound[item]!;
      if (!this.incumbent.opens(bound)) break;
      const curve = queue.curve[item]!;
      const cold = queue.cold[item] === 1;
      const lo = queue.lo[item]!;
      switch (queue.kind[item]) {
        case SHAPE:
          this.queueShapeParts(queue.ref[item] as HardwareShape, curve, queue.node[item]!, queue.networkMs[item]!);
          break;
        case SHAPE_RANGE: {
          const shape = queue.ref[item] as HardwareShape;
          const hi = queue.hi[item]!;
          if (lo === hi) this.queueGroupsAt(shape, curve, cold, lo);
          else
            this.splitRange(
              shape,
              queue.occupancy[item]!,
              curve,
              queue.node[item]!,
              cold,
              queue.networkMs[item]!,
              lo,
              hi,
              bound,
            );
          break;
        }
        case SHAPE_SATURATED:
          this.expandSaturated(
            queue.ref[item] as HardwareShape,
            queue.occupancy[item]!,
            curve,
            queue.node[item]!,
            cold,
            queue.networkMs[item]!,
            lo,
          );
          break;
        case GROUP_LEVEL:
          this.scoreGroupLevel(queue.ref[item] as ShapeInCluster, curve, cold, lo);
          break;
        case GROUP_SATURATED:
          this.scoreGroupSaturated(queue.ref[item] as ShapeInCluster, curve, cold, lo);
          break;
      }
    }
    return this.incumbent.pick();
  }

  /** The free-HBM class below which every node fails a memory-declaring filter. */
  private minMemoryClass(coldStart: boolean): number {
    const filters = this.pipeline.memoryFilters;
    let needBytes = 0;
    for (let f = 0; f < filters.length; f++) {
      const bytes = filters[f]!.minFreeHbmBytes!(this.request, coldStart);
      if (bytes > needBytes) needBytes = bytes;
    }
    return memoryClassOf(needBytes);
  }

  /** Each cluster's round trip from the request's region and the severity of its power stage. */
  private readClusters(clusters: readonly IndexedCluster[]): void {
    if (this.networkByCluster.length < clusters.length) {
      const size = Math.max(clusters.length, 2 * this.networkByCluster.length);
      this.networkByCluster = new Float64Array(size);
      this.severityByCluster = new Float64Array(size);
    }
    const region = this.request.region;
    for (let c = 0; c < clusters.length; c++) {
      const cluster = clusters[c]!;
      if (cluster.size === 0) continue;
      const state = cluster.state;
      this.networkByCluster[cluster.id] = state?.networkMs(region) ?? 0;
      this.severityByCluster[cluster.id] = state === undefined ? 0 : STAGE_SEVERITY[state.stage];
    }
  }

  /**
   * Queues a shape with one bound over all its nodes (the least round trip of its clusters and a node
   * of its mildest-staged one; no cold start if any node has the model; both the free-slot levels and
   * the saturated classes): most shapes go no further.
   */
  private queueShape(shape: HardwareShape, curve: DecodeCurve): void {
    let networkMs = Number.POSITIVE_INFINITY;
    let severity = Number.POSITIVE_INFINITY;
    let mildest = -1;
    const ids = shape.clusterIds;
    for (let g = 0; g < ids.length; g++) {
      const id = ids[g]!;
      if (this.networkByCluster[id]! < networkMs) networkMs = this.networkByCluster[id]!;
      if (this.severityByCluster[id]! < severity) {
        severity = this.severityByCluster[id]!;
        mildest = g;
      }
    }
    const node = mildest < 0 ? undefined : this.clusterNode(shape.groups[mildest]!);
    if (node === undefined) return;
    const warm = (shape.warmFor(this.request.model.name)?.size ?? 0) > 0;
    const minClass = warm ? this.minClassWarm : this.minClassCold;
    const occupancy = shape.all;
    const lo = occupancy.nextLevel(0, minClass);
    const k = occupancy.lowestSaturatedClass(minClass);
    if (lo < 0 && k < 0) return;
    this.set(shape, networkMs, !warm, shape.minLimitWatts, false);
    const candidate = this.floorCandidate;
    candidate.node = node;
    const floor = candidate.floor;
    if (lo >= 0) {
      floor.fillRange(
        shape.curves,
        curve,
        this.request,
        lo,
        occupancy.prevLevel(shape.maxBatchSize - 1, minClass),
        0,
        this.setting,
      );
    }
    if (k >= 0) {
      const saturated = this.spareFloor.fillSaturated(
        shape.curves,
        curve,
        this.request,
        backlogClassFloor(k),
        0,
        this.setting,
      );
      if (lo >= 0) floor.lowerTo(saturated);
      else floor.fillSaturated(shape.curves, curve, this.request, backlogClassFloor(k), 0, this.setting);
    }
    this.queueIfUseful(
      this.pipeline.score(this.request, candidate),
      SHAPE,
      shape,
      undefined,
      curve,
      node,
      !warm,
      networkMs,
      0,
      0,
    );
  }

  /** Queues the shape's warm nodes and, if some lack the model, its cold ones (over all its nodes: a superset). */
  private queueShapeParts(shape: HardwareShape, curve: DecodeCurve, node: NodeRecord, networkMs: number): void {
    const warm = shape.warmFor(this.request.model.name);
    const warmSize = warm?.size ?? 0;
    if (warm !== undefined && warmSize > 0) this.queueShapePart(shape, warm, curve, node, false, networkMs);
    if (shape.all.size > warmSize) this.queueShapePart(shape, shape.all, curve, node, true, networkMs);
  }

  private queueShapePart(
    shape: HardwareShape,
    occupancy: ClassedOccupancy,
    curve: DecodeCurve,
    node: NodeRecord,
    cold: boolean,
    networkMs: number,
  ): void {
    const minClass = cold ? this.minClassCold : this.minClassWarm;
    this.set(shape, networkMs, cold, shape.minLimitWatts, false);
    const lo = occupancy.nextLevel(0, minClass);
    if (lo >= 0) {
      const hi = occupancy.prevLevel(shape.maxBatchSize - 1, minClass);
      const bound = this.boundRange(shape, curve, node, lo, hi, 0);
      this.queueIfUseful(bound, SHAPE_RANGE, shape, occupancy, curve, node, cold, networkMs, lo, hi);
    }
    const k = occupancy.lowestSaturatedClass(minClass);
    if (k >= 0) {
      const bound = this.boundSaturated(shape, curve, node, backlogClassFloor(k), 0);
      this.queueIfUseful(bound, SHAPE_SATURATED, shape, occupancy, curve, node, cold, networkMs, k, k);
    }
  }

  /**
   * Splits a shape's range and queues the parts. When the range's top level alone reaches the
   * range's bound (the usual case: time to first token does not grow with load on an uncapped
   * shape, and energy per token falls as the batch fills), the top is peeled off and the rest
   * bounded on its own: one level found in two bounds, where halving would take a dozen. Otherwise
   * the range is halved at its midpoint into two ranges with occupied ends, or, when narrow, queued
   * level by level (fewer queue operations for as many bounds).
   */
  private splitRange(
    shape: HardwareShape,
    occupancy: ClassedOccupancy,
    curve: DecodeCurve,
    node: NodeRecord,
    cold: boolean,
    networkMs: number,
    lo: number,
    hi: number,
    rangeBound: number,
  ): void {
    const minClass = cold ? this.minClassCold : this.minClassWarm;
    this.set(shape, networkMs, cold, shape.minLimitWatts, false);
    const topBound = this.boundRange(shape, curve, node, hi, hi, 0);
    this.queueIfUseful(topBound, SHAPE_RANGE, shape, occupancy, curve, node, cold, networkMs, hi, hi);
    const below = occupancy.prevLevel(hi - 1, minClass);
    if (below < lo) return;
    if (topBound >= rangeBound - PEEL_TOLERANCE || hi - lo < ENUMERATE_SPAN) {
      if (hi - lo < ENUMERATE_SPAN) {
        for (let level = lo; level >= 0 && level <= below; level = occupancy.nextLevel(level + 1, minClass)) {
          const bound = this.boundRange(shape, curve, node, level, level, 0);
          this.queueIfUseful(bound, SHAPE_RANGE, shape, occupancy, curve, node, cold, networkMs, level, level);
        }
        return;
      }
      const rest = this.boundRange(shape, curve, node, lo, below, 0);
      this.queueIfUseful(rest, SHAPE_RANGE, shape, occupancy, curve, node, cold, networkMs, lo, below);
      return;
    }
    const mid = (lo + below) >>> 1;
    const leftHi = occupancy.prevLevel(mid, minClass);
    const rightLo = occupancy.nextLevel(mid + 1, minClass);
    const left = this.boundRange(shape, curve, node, lo, leftHi, 0);
    this.queueIfUseful(left, SHAPE_RANGE, shape, occupancy, curve, node, cold, networkMs, lo, leftHi);
    if (rightLo <= below) {
      const right = this.boundRange(shape, curve, node, rightLo, below, 0);
      this.queueIfUseful(right, SHAPE_RANGE, shape, occupancy, curve, node, cold, networkMs, rightLo, below);
    }
  }

  /** Bounds one level of a shape in each cluster that has warm (or cold) nodes there. */
  private queueGroupsAt(shape: HardwareShape, curve: DecodeCurve, cold: boolean, load: number): void {
    const model = this.request.model.name;
    const groups = shape.groups;
    const start = this.rotation % Math.max(1, groups.length);
    for (let g = 0; g < groups.length; g++) {
      const group = groups[(start + g) % groups.length]!;
      const occupancy = cold ? group.all : group.warmFor(model);
      if (occupancy === undefined || !occupancy.has(load)) continue;
      const node = this.clusterNode(group);
      if (node === undefined) continue;
      const networkMs = this.networkByCluster[group.cluster.id]!;
      this.set(shape, networkMs, cold, group.minLimitWatts, false);
      const bound = this.boundRange(shape, curve, node, load, load, 0);
      this.queueIfUseful(bound, GROUP_LEVEL, group, undefined, curve, node, cold, networkMs, load, load);
    }
  }

  /** Bounds a saturated class of a shape in each cluster, and queues the shape's next class. */
  private expandSaturated(
    shape: HardwareShape,
    occupancy: ClassedOccupancy,
    curve: DecodeCurve,
    node: NodeRecord,
    cold: boolean,
    networkMs: number,
    k: number,
  ): void {
    const model = this.request.model.name;
    const backlog = backlogClassFloor(k);
    // The request's own service time at full speed: no member serves it faster (for slot-wait floors).
    this.set(shape, networkMs, cold, shape.minLimitWatts, false);
    const own = this.spareFloor.fillSaturated(shape.curves, curve, this.request, 0, 0, this.setting);
    const ownServiceMs = own.prefillMs + own.decodeMs;
    const groups = shape.groups;
    const start = this.rotation % Math.max(1, groups.length);
    for (let g = 0; g < groups.length; g++) {
      const group = groups[(start + g) % groups.length]!;
      const groupOccupancy = cold ? group.all : group.warmFor(model);
      if (groupOccupancy === undefined || !groupOccupancy.hasSaturated(k)) continue;
      const groupNode = this.clusterNode(group);
      if (groupNode === undefined) continue;
      const slotWaitMs = this.groupSlotWaitFloorMs(group, cold, k, ownServiceMs);
      if (slotWaitMs === Number.POSITIVE_INFINITY) continue;
      const groupNetworkMs = this.networkByCluster[group.cluster.id]!;
      this.set(shape, groupNetworkMs, cold, group.minLimitWatts, false);
      const bound = this.boundSaturated(shape, curve, groupNode, backlog, slotWaitMs);
      this.queueIfUseful(bound, GROUP_SATURATED, group, undefined, curve, groupNode, cold, groupNetworkMs, k, k);
    }
    const next = occupancy.nextSaturatedClass(k, cold ? this.minClassCold : this.minClassWarm);
    if (next >= 0) {
      this.set(shape, networkMs, cold, shape.minLimitWatts, false);
      const bound = this.boundSaturated(shape, curve, node, backlogClassFloor(next), 0);
      this.queueIfUseful(bound, SHAPE_SATURATED, shape, occupancy, curve, node, cold, networkMs, next, next);
    }
  }

  /**
   * The least slot wait among the group's warm (or cold) saturated members of backlog class `k` with
   * enough free memory; Infinity when there are none.
   */
  private groupSlotWaitFloorMs(group: ShapeInCluster, cold: boolean, k: number, ownServiceMs: number): number {
    const model = this.request.model.name;
    const minClass = cold ? this.minClassCold : this.minClassWarm;
    const families = group.families;
    let least = Number.POSITIVE_INFINITY;
    for (let f = 0; f < families.length; f++) {
      const family = families[f]!;
      if (family.loadedModels.has(model) === cold || !family.occupancy.hasSaturated(k)) continue;
      for (let m = minClass; m < MEMORY_CLASSES; m++) {
        const bucket = family.saturated[k * MEMORY_CLASSES + m];
        if (bucket === undefined || bucket.nodes.length === 0) continue;
        const wait = bucket.slotWaitFloorMs(ownServiceMs);
        if (wait < least) least = wait;
      }
    }
    return least;
  }

  /** Scores one level of the group's warm (or cold) families: one exact estimate per bucket that could win. */
  private scoreGroupLevel(group: ShapeInCluster, curve: DecodeCurve, cold: boolean, load: number): void {
    const { request, pipeline } = this;
    const model = request.model.name;
    const minClass = cold ? this.minClassCold : this.minClassWarm;
    const families = group.families;
    for (let f = 0; f < families.length; f++) {
      const family = families[f]!;
      if (family.loadedModels.has(model) === cold || !family.occupancy.has(load)) continue;
      const buckets = family.levels[load];
      if (buckets === undefined) continue;
      let admitted = false;
      for (let b = 0; b < buckets.length; b++) {
        const bucket = buckets[b]!;
        if (bucket.memoryClass < minClass) continue;
        const node = bucket.nodes[0]!;
        // Backlog ascends: the first bucket that cannot win ends the level.
        this.setFamily(family, cold);
        if (!this.incumbent.mayReach(this.boundRange(group.shape, curve, node, load, load, bucket.backlog))) break;
        if (!admitted) {
          if (!passes(pipeline.familyFilters, request, pipeline.focus(node, request))) break;
          admitted = true;
        }
        // Per-node filters need no estimate: try them first, the estimate only for a member they admit.
        const member = this.feasibleIn(bucket);
        if (member === undefined) continue;
        const candidate = pipeline.focus(member, request);
        if (!passes(pipeline.loadFilters, request, candidate)) continue;
        const score = pipeline.score(request, candidate);
        this.incumbent.offer(score, member, candidate.estimate(), bucket.nodes.length);
      }
    }
  }

  /**
   * Scores the saturated members of backlog class `k` in the group's warm (or cold) families one by
   * one (their slot waits differ), each first bounded with its own backlog and slot wait.
   */
  private scoreGroupSaturated(group: ShapeInCluster, curve: DecodeCurve, cold: boolean, k: number): void {
    const model = this.request.model.name;
    const minClass = cold ? this.minClassCold : this.minClassWarm;
    const families = group.families;
    for (let f = 0; f < families.length; f++) {
      const family = families[f]!;
      if (family.loadedModels.has(model) === cold || !family.occupancy.hasSaturated(k)) continue;
      for (let m = minClass; m < MEMORY_CLASSES; m++) {
        const bucket = family.saturated[k * MEMORY_CLASSES + m];
        if (bucket !== undefined && bucket.nodes.length > 0) this.scoreSaturatedNodes(family, curve, cold, bucket);
      }
    }
  }

  private scoreSaturatedNodes(family: NodeFamily, curve: DecodeCurve, cold: boolean, bucket: LoadBucket) {
    const { request, pipeline } = this;
    const nodes = bucket.nodes;
    const shape = family.group.shape;
    this.setFamily(family, cold);
    this.boundSaturated(shape, curve, nodes[0]!, 0, 0);
    // The request's own service time stands in for the mean of a node without reservations.
    const ownServiceMs = this.floorCandidate.floor.prefillMs + this.floorCandidate.floor.decodeMs;
    const floorWaitMs = bucket.slotWaitFloorMs(ownServiceMs);
    if (!this.incumbent.mayReach(this.boundSaturated(shape, curve, nodes[0]!, bucket.backlog, floorWaitMs))) return;
    if (!passes(pipeline.familyFilters, request, pipeline.focus(nodes[0]!, request))) return;
    // Members that can only tie the best use up tie openings (see Incumbent), so that a family of
    // equally placed saturated nodes is sampled, not scored node by node; the start is random so
    // that they take turns.
    const start = nodes.length === 1 ? 0 : Math.floor(this.rng() * nodes.length);
    for (let i = 0; i < nodes.length; i++) {
      const member = nodes[(start + i) % nodes.length]!;
      const waitMs = predictedSlotWaitMs(member, ownServiceMs);
      if (!this.incumbent.opens(this.boundSaturated(shape, curve, member, member.prefillBacklog, waitMs))) continue;
      const candidate = pipeline.focus(member, request);
      if (!passes(pipeline.nodeFilters, request, candidate) || !passes(pipeline.loadFilters, request, candidate)) {
        continue;
      }
      const score = pipeline.score(request, candidate);
      this.incumbent.offer(score, member, candidate.estimate(), 1);
    }
  }

  /** A node of the group's cluster, to stand for it in bounds. */
  private clusterNode(group: ShapeInCluster): NodeRecord | undefined {
    const cluster = group.cluster;
    const standIn = cluster.standIn;
    if (standIn !== undefined && standIn.clusterState === cluster.state) return standIn;
    cluster.standIn = group.representative();
    return cluster.standIn;
  }

  /** A member of `bucket` passing the per-node filters, searched from a random start; undefined if none. */
  private feasibleIn(bucket: LoadBucket): NodeRecord | undefined {
    const { request, pipeline } = this;
    const nodes = bucket.nodes;
    const start = nodes.length === 1 ? 0 : Math.floor(this.rng() * nodes.length);
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[(start + i) % nodes.length]!;
      if (passes(pipeline.nodeFilters, request, pipeline.focus(node, request))) return node;
    }
    return undefined;
  }

  private queueIfUseful(
    bound: number,
    kind: number,
    ref: unknown,
    occupancy: ClassedOccupancy | undefined,
    curve: DecodeCurve,
    node: NodeRecord,
    cold: boolean,
    networkMs: number,
    lo: number,
    hi: number,
  ): void {
    if (this.incumbent.mayReach(bound)) {
      this.queue.push(bound, kind, ref, occupancy, curve, node, cold, networkMs, lo, hi);
    }
  }

  private set(shape: HardwareShape, networkMs: number, cold: boolean, limitWatts: number, exact: boolean): void {
    const setting = this.setting;
    setting.networkMs = networkMs;
    setting.coldStart = cold;
    setting.loadMs = cold ? modelLoadMs(shape.hardware, this.request.model) : 0;
    setting.limitWatts = limitWatts;
    setting.exactLimit = exact;
  }

  private setFamily(family: NodeFamily, cold: boolean): void {
    this.set(family.group.shape, this.networkByCluster[family.group.cluster.id]!, cold, family.limitWatts, true);
  }

  private boundRange(
    shape: HardwareShape,
    curve: DecodeCurve,
    node: NodeRecord,
    lo: number,
    hi: number,
    backlog: number,
  ): number {
    const candidate = this.floorCandidate;
    candidate.node = node;
    candidate.floor.fillRange(shape.curves, curve, this.request, lo, hi, backlog, this.setting);
    return this.pipeline.score(this.request, candidate);
  }

  private boundSaturated(
    shape: HardwareShape,
    curve: DecodeCurve,
    node: NodeRecord,
    backlog: number,
    slotWaitMs: number,
  ): number {
    const candidate = this.floorCandidate;
    candidate.node = node;
    candidate.floor.fillSaturated(shape.curves, curve, this.request, backlog, slotWaitMs, this.setting);
    return this.pipeline.score(this.request, candidate);
  }
}
