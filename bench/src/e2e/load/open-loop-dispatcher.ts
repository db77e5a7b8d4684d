/** What a dispatch did. */
export interface DispatchReport {
  /** Items handed to `send` (all of them unless aborted). */
  readonly dispatched: number;
  /** Largest delay between an item's intended time and its actual hand-off (the driver falling behind). */
  readonly maxLagMs: number;
  readonly aborted: boolean;
}

export interface DispatchOptions {
  /** The clock reading (`now()`) that timeline time 0 stands for. */
  readonly startAtMs: number;
  readonly signal?: AbortSignal;
  /** Monotonic clock in ms (default `performance.now`). */
  readonly now?: () => number;
}

/**
 * Hands each timeline item to `send` at `startAtMs + item.atMs`, against the wall clock. `send` is
 * called synchronously and never awaited, so a slow answer cannot delay the next arrival (open loop);
 * when the driver itself wakes late, every overdue item goes out at once, each still told its
 * intended time, so latencies measured from it include the delay (no coordinated omission).
 * `timeline` must be sorted by `atMs`; `send` must not throw (the dispatch rejects if it does).
 */
export function dispatchOpenLoop<T extends { readonly atMs: number }>(
  timeline: readonly T[],
  send: (item: T, intendedAtMs: number) => void,
  options: DispatchOptions,
): Promise<DispatchReport> {
  const now = options.now ?? (() => performance.now());
  for (let i = 1; i < timeline.length; i++) {
    if (timeline[i]!.atMs < timeline[i - 1]!.atMs) throw new RangeError(`timeline is not sorted at item ${i}`);
  }
  let next = 0;
  let maxLagMs = 0;
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (aborted: boolean): void => {
      if (timer !== undefined) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ dispatched: next, maxLagMs, aborted });
    };
    const onAbort = (): void => finish(true);
    const tick = (): void => {
      timer = undefined;
      const nowMs = now();
      while (next < timeline.length) {
        const intendedAtMs = options.startAtMs + timeline[next]!.atMs;
        if (intendedAtMs > nowMs) break;
        maxLagMs = Math.max(maxLagMs, nowMs - intendedAtMs);
        const item = timeline[next]!;
        next++;
        try {
          send(item, intendedAtMs);
        } catch (err) {
          // A sender that throws is a bug in the driver, not a request outcome: stop and say so.
          if (timer !== undefined) clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
      }
      if (next >= timeline.length) {
        finish(false);
        return;
      }
      timer = setTimeout(tick, Math.max(0, options.startAtMs + timeline[next]!.atMs - now()));
    };
    if (options.signal?.aborted === true) {
      finish(true);
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    tick();
  });
}
