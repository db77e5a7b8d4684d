/**
 * A first-in first-out queue with O(1) push and shift. Array.prototype.shift is O(n), which a
 * simulation of millions of requests cannot afford; this keeps a head index and compacts the backing
 * array once the consumed prefix dominates it.
 */

const COMPACT_MIN_HEAD = 1024;

/** FIFO queue; removal from the middle is left to the owner (mark the item and skip it on shift). */
export class FifoQueue<T> {
  private items: T[] = [];
  private head = 0;

  /** Items held, including any the owner has marked dead but not yet shifted past. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Appends `item` at the tail. */
  push(item: T): void {
    this.items.push(item);
  }

  /** The oldest item, or undefined when empty. */
  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  /** Removes and returns the oldest item, or undefined when empty. */
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= COMPACT_MIN_HEAD && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Removes and returns the newest item (undoing the last push), or undefined when empty. */
  popNewest(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    return this.items.pop();
  }
}
