/**
 * The admission queue: high before normal before low, first-come first-served within a priority.
 * A cancelled job stays in its FIFO, marked dead by the owner, and is skipped when it reaches the
 * head, so cancellation is O(1) rather than a search.
 */
import { FifoQueue } from './fifo-queue.js';
import type { Priority } from './simulated-accelerator-types.js';

const PRIORITIES: readonly Priority[] = ['high', 'normal', 'low'];

/** Three FIFOs by priority with a live count; `isLive` tells which entries are still waiting. */
export class PriorityQueue<J> {
  private readonly fifos: Record<Priority, FifoQueue<J>> = {
    high: new FifoQueue(),
    normal: new FifoQueue(),
    low: new FifoQueue(),
  };
  private live = 0;

  constructor(private readonly isLive: (job: J) => boolean) {}

  /** Live jobs waiting. */
  get size(): number {
    return this.live;
  }

  /** Appends `job` behind the others of its priority. */
  push(job: J, priority: Priority): void {
    this.fifos[priority].push(job);
    this.live++;
  }

  /** The job to admit next with its priority, or undefined; drops dead entries on the way. */
  peek(): { job: J; priority: Priority } | undefined {
    for (const priority of PRIORITIES) {
      const fifo = this.fifos[priority];
      let head = fifo.peek();
      while (head !== undefined && !this.isLive(head)) {
        fifo.shift();
        head = fifo.peek();
      }
      if (head !== undefined) return { job: head, priority };
    }
    return undefined;
  }

  /** Removes the head of `priority`, which peek just returned. */
  shift(priority: Priority): void {
    this.fifos[priority].shift();
    this.live--;
  }

  /** Undoes the latest push to `priority` (a submission refused after all). */
  popNewest(priority: Priority): void {
    this.fifos[priority].popNewest();
    this.live--;
  }

  /** Accounts for a job the owner has marked dead (it is skipped when it surfaces). */
  markRemoved(): void {
    this.live--;
  }
}
