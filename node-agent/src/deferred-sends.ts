/**
 * Messages to the scheduler (acknowledgements, work results) held back briefly and sent together.
 * Neither is on a client's path (the client's answer goes out at once); holding them for about a
 * millisecond keeps them from competing with that answer for the CPU and the socket, and under
 * load turns many small writes into one. The scheduler waits seconds for an acknowledgement.
 */
export class DeferredSends {
  private readonly queue: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly delayMs = 1) {}

  /** Queues a send for the next flush (within `delayMs`). Sends run in the order queued. */
  defer(send: () => void): void {
    this.queue.push(send);
    this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  /** Sends everything queued now (e.g. before a goodbye that must come after them). */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const send of this.queue.splice(0)) send();
  }
}
