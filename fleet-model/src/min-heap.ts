/**
 * A binary min-heap keyed by a number with an insertion sequence as tie-break, so that equal keys
 * come out in insertion order and a simulation replays identically. The simulated accelerator keeps
 * its decoding jobs here, keyed by the virtual progress at which each finishes.
 */

interface HeapEntry<T> {
  readonly key: number;
  readonly seq: number;
  readonly value: T;
}

/** Min-heap of values by (key, insertion order); O(log n) push and pop. */
export class MinHeap<T> {
  private readonly entries: HeapEntry<T>[] = [];
  private nextSeq = 0;

  /** Number of entries held. */
  get size(): number {
    return this.entries.length;
  }

  /** Adds `value` under `key`. */
  push(key: number, value: T): void {
    const entries = this.entries;
    entries.push({ key, seq: this.nextSeq++, value });
    let i = entries.length - 1;
    const entry = entries[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = entries[parent]!;
      if (!before(entry, p)) break;
      entries[i] = p;
      i = parent;
    }
    entries[i] = entry;
  }

  /** The smallest key, or undefined when empty. */
  peekKey(): number | undefined {
    return this.entries[0]?.key;
  }

  /** The value with the smallest key, or undefined when empty. */
  peek(): T | undefined {
    return this.entries[0]?.value;
  }

  /** Removes and returns the value with the smallest key, or undefined when empty. */
  pop(): T | undefined {
    const entries = this.entries;
    const top = entries[0];
    if (top === undefined) return undefined;
    const last = entries.pop()!;
    if (entries.length > 0) {
      let i = 0;
      const n = entries.length;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && before(entries[right]!, entries[left]!) ? right : left;
        const c = entries[child]!;
        if (!before(c, last)) break;
        entries[i] = c;
        i = child;
      }
      entries[i] = last;
    }
    return top.value;
  }

  /** Drops every entry. */
  clear(): void {
    this.entries.length = 0;
  }
}

function before<T>(a: HeapEntry<T>, b: HeapEntry<T>): boolean {
  return a.key < b.key || (a.key === b.key && a.seq < b.seq);
}
