import { describe, expect, it } from 'vitest';
import { FifoQueue } from './fifo-queue.js';
import { MinHeap } from './min-heap.js';
import { createRng } from './rng.js';

describe('MinHeap', () => {
  it('pops in key order, equal keys in insertion order', () => {
    const heap = new MinHeap<string>();
    for (const [key, value] of [
      [3, 'c'],
      [1, 'a1'],
      [2, 'b'],
      [1, 'a2'],
      [0, 'z'],
    ] as const) {
      heap.push(key, value);
    }
    const out: string[] = [];
    for (let v = heap.pop(); v !== undefined; v = heap.pop()) out.push(v);
    expect(out).toEqual(['z', 'a1', 'a2', 'b', 'c']);
    expect(heap.size).toBe(0);
    expect(heap.peekKey()).toBeUndefined();
  });

  it('agrees with a stable sort on random keys', () => {
    const rng = createRng(9);
    const heap = new MinHeap<number>();
    const items = Array.from({ length: 5000 }, (_, i) => ({ key: Math.floor(rng() * 100), i }));
    for (const item of items) heap.push(item.key, item.i);
    const sorted = items.toSorted((a, b) => a.key - b.key || a.i - b.i).map((item) => item.i);
    const popped = Array.from({ length: items.length }, () => heap.pop()!);
    expect(popped).toEqual(sorted);
  });
});

describe('FifoQueue', () => {
  it('keeps first-in first-out order across compaction', () => {
    const queue = new FifoQueue<number>();
    for (let i = 0; i < 5000; i++) queue.push(i);
    for (let i = 0; i < 3000; i++) expect(queue.shift()).toBe(i);
    for (let i = 5000; i < 6000; i++) queue.push(i);
    expect(queue.length).toBe(3000);
    expect(queue.popNewest()).toBe(5999);
    const rest: number[] = [];
    for (let v = queue.shift(); v !== undefined; v = queue.shift()) rest.push(v);
    expect(rest).toEqual(Array.from({ length: 2999 }, (_, i) => 3000 + i));
    expect(queue.peek()).toBeUndefined();
    expect(queue.popNewest()).toBeUndefined();
  });
});
