import type { ModelSpec, NodeHardware } from '@switchyard/fleet-model';
import type { NodeRecord } from '../fleet/node-record.js';
import type { ClusterState } from '../topology/cluster-state.js';
import type { ServingShape } from './feasibility.js';

/** Nodes alike for the feasibility checks: same hardware and reported HBM in the same cluster. */
interface ShapeGroup {
  readonly hardware: NodeHardware;
  readonly hbmTotalBytes: number;
  readonly cluster: ClusterState | undefined;
  /** Models loaded on at least one node of the group. */
  readonly loaded: Set<string>;
}

/** The part of the fleet view the shapes are built from. */
export interface ShapeSource {
  readonly nodes: readonly NodeRecord[];
  readonly size: number;
}

/**
 * The fleet folded into its distinct node shapes, so that admission judges a request against a
 * handful of shapes instead of every node. Rebuilt when the fleet's size changes or the copy is
 * older than `refreshMs`: a node that loads a model, a cluster whose measured round trip moved, or
 * a node that joins the same cluster with new figures counts after at most that long. The shapes
 * as a (model, region) sees them are kept until then too, so a request allocates nothing. Every node counts, schedulable or not: the checks ask what
 * could ever be possible, and a cordoned node may come back.
 */
export class ServingShapes {
  private groups: ShapeGroup[] = [];
  private builtAtMs = Number.NEGATIVE_INFINITY;
  private builtForSize = -1;
  private readonly byRequestKey = new Map<string, ServingShape[]>();

  constructor(
    private readonly fleet: ShapeSource,
    private readonly refreshMs: number,
  ) {}

  /** The shapes as a request for `model` from `region` sees them at `nowMs`. Do not mutate. */
  forRequest(model: ModelSpec, region: string | undefined, nowMs: number): ServingShape[] {
    if (this.fleet.size !== this.builtForSize || nowMs - this.builtAtMs >= this.refreshMs) this.rebuild(nowMs);
    const key = region === undefined ? model.name : `${model.name}\u0000${region}`;
    let shapes = this.byRequestKey.get(key);
    if (shapes === undefined) {
      shapes = this.groups.map((group) => ({
        hardware: group.hardware,
        hbmTotalBytes: group.hbmTotalBytes,
        modelLoaded: group.loaded.has(model.name),
        networkMs: group.cluster?.networkMs(region) ?? 0,
      }));
      this.byRequestKey.set(key, shapes);
    }
    return shapes;
  }

  private rebuild(nowMs: number): void {
    const byKey = new Map<string, ShapeGroup>();
    for (const node of this.fleet.nodes) {
      const { profile, chipCount } = node.hardware;
      const key = `${node.cluster}/${profile.name}/${chipCount}/${node.hbmTotalBytes}`;
      let group = byKey.get(key);
      if (group === undefined) {
        group = {
          hardware: node.hardware,
          hbmTotalBytes: node.hbmTotalBytes,
          cluster: node.clusterState,
          loaded: new Set(),
        };
        byKey.set(key, group);
      }
      for (const name of node.loadedModels) group.loaded.add(name);
    }
    this.groups = [...byKey.values()];
    this.byRequestKey.clear();
    this.builtAtMs = nowMs;
    this.builtForSize = this.fleet.size;
  }
}
