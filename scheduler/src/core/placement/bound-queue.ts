import type { NodeRecord } from '../fleet/node-record.js';
import type { DecodeCurve } from './estimate-floor.js';
import type { ClassedOccupancy } from './level-occupancy.js';

/**
 * A max-priority queue of search items by upper bound, in parallel typed arrays reused from decision
 * to decision, so that a search allocates nothing once the arrays have grown to its size.
 */
export class BoundQueue {
  bound = new Float64Array(64);
  /** What the item stands for (the search numbers its kinds). */
  kind = new Uint8Array(64);
  lo = new Int32Array(64);
  hi = new Int32Array(64);
  /** Whether the item's nodes (all of them) would need a cold start. */
  cold = new Uint8Array(64);
  /** The round trip the item's bound assumed (the least of its clusters'). */
  networkMs = new Float64Array(64);
  /** The shape, group or family. */
  ref: unknown[] = [];
  /** The occupancy the item ranges over. */
  occupancy: (ClassedOccupancy | undefined)[] = [];
  curve: (DecodeCurve | undefined)[] = [];
  /** A node of the item's cluster (the mildest-staged one for shapes), for scorers that read it. */
  node: (NodeRecord | undefined)[] = [];
  private heap = new Int32Array(64);
  private items = 0;
  private queued = 0;

  get size(): number {
    return this.queued;
  }

  /** Empties the queue (the arrays are kept). */
  clear(): void {
    this.items = 0;
    this.queued = 0;
  }

  /** Stores an item and queues it by `bound`. */
  push(
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
    if (this.items === this.bound.length) this.grow();
    const item = this.items++;
    this.bound[item] = bound;
    this.kind[item] = kind;
    this.ref[item] = ref;
    this.occupancy[item] = occupancy;
    this.networkMs[item] = networkMs;
    this.curve[item] = curve;
    this.node[item] = node;
    this.cold[item] = cold ? 1 : 0;
    this.lo[item] = lo;
    this.hi[item] = hi;
    // Sift up.
    const heap = this.heap;
    let at = this.queued++;
    while (at > 0) {
      const parent = (at - 1) >>> 1;
      if (this.bound[heap[parent]!]! >= bound) break;
      heap[at] = heap[parent]!;
      at = parent;
    }
    heap[at] = item;
  }

  /** The item with the highest bound, removed from the queue (its fields stay readable), or −1. */
  pop(): number {
    if (this.queued === 0) return -1;
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap[--this.queued]!;
    const lastBound = this.bound[last]!;
    const n = this.queued;
    let at = 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= n) break;
      if (child + 1 < n && this.bound[heap[child + 1]!]! > this.bound[heap[child]!]!) child++;
      if (this.bound[heap[child]!]! <= lastBound) break;
      heap[at] = heap[child]!;
      at = child;
    }
    heap[at] = last;
    return top;
  }

  private grow(): void {
    const size = this.bound.length * 2;
    this.bound = widen(this.bound, new Float64Array(size));
    this.kind = widen(this.kind, new Uint8Array(size));
    this.lo = widen(this.lo, new Int32Array(size));
    this.hi = widen(this.hi, new Int32Array(size));
    this.cold = widen(this.cold, new Uint8Array(size));
    this.networkMs = widen(this.networkMs, new Float64Array(size));
    this.heap = widen(this.heap, new Int32Array(size));
  }
}

function widen<T extends Float64Array | Uint8Array | Int32Array>(old: T, fresh: T): T {
  fresh.set(old);
  return fresh;
}
