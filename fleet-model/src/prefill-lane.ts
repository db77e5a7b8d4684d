/**
 * The node's prefill lane. Prefill is compute-bound, so the node runs one at a time, FIFO among
 * admitted jobs, at the node's aggregate prefill rate. Its progress between events is linear, so the
 * end of the current prefill is computed, not stepped.
 */
import { FifoQueue } from './fifo-queue.js';

/** One serial prefill lane over jobs of type J; `isWaiting` skips jobs cancelled while queued. */
export class PrefillLane<J> {
  private readonly waiting = new FifoQueue<J>();
  private running: J | undefined;
  private remainingTokens = 0;
  private ratePerMs = 0;

  constructor(private readonly isWaiting: (job: J) => boolean) {}

  /** The job prefilling now, if any. */
  get current(): J | undefined {
    return this.running;
  }

  /** Admitted jobs waiting for the lane (cancelled ones drop out lazily, so this may overcount briefly). */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Queues an admitted job whose model is loaded. */
  enqueue(job: J): void {
    this.waiting.push(job);
  }

  /** If idle, starts the oldest waiting job with `tokens` prompt tokens and returns it for the caller to stamp. */
  startNext(tokens: (job: J) => number): J | undefined {
    if (this.running !== undefined) return undefined;
    for (let job = this.waiting.shift(); job !== undefined; job = this.waiting.shift()) {
      if (!this.isWaiting(job)) continue;
      this.running = job;
      this.remainingTokens = tokens(job);
      return job;
    }
    return undefined;
  }

  /** Ends the current prefill (finished or cancelled) and returns its job. */
  finish(): J | undefined {
    const job = this.running;
    this.running = undefined;
    return job;
  }

  /** Sets the current prefill's speed in prompt tokens per ms; it holds until the next event. */
  setRate(tokensPerMs: number): void {
    this.ratePerMs = tokensPerMs;
  }

  /** Moves the current prefill on by `dtMs`. */
  integrate(dtMs: number): void {
    if (this.running !== undefined) this.remainingTokens -= this.ratePerMs * dtMs;
  }

  /** When the current prefill ends at the current rate, measured from `nowMs`; undefined when idle. */
  endsAtMs(nowMs: number): number | undefined {
    if (this.running === undefined) return undefined;
    return nowMs + Math.max(0, this.remainingTokens) / this.ratePerMs;
  }
}
