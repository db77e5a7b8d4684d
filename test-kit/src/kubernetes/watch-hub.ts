import type { ServerResponse } from 'node:http';
import { cloneJson, type KubeObject } from './kube-object.js';
import { type KubeStatus, resourceExpiredStatus, tooLargeResourceVersionStatus } from './kube-status.js';
import type { ObjectFilter } from './object-selectors.js';

/**
 * The watch side of one resource for the fake API server: a bounded event history and the open watch
 * streams, with the apiserver's semantics (kubernetes.io/docs/reference/using-api/api-concepts/,
 * "Efficient detection of changes", "Watch bookmarks", "410 Gone responses"):
 * - a watch from resourceVersion RV gets every event with a newer resourceVersion, then live events;
 *   RV "" or "0" gets a synthetic ADDED per current object first;
 * - an RV older than the retained history gets HTTP 200 and ONE `ERROR` event holding a 410 Expired Status
 *   ("too old resource version: RV (OLDEST)"), then the stream ends — the watch cache's `newErrWatcher`;
 * - with a label or field selector, an object that stops matching arrives as DELETED and one that starts
 *   matching as ADDED (the watch cache's `cacheWatcher.convertToWatchEvent`);
 * - BOOKMARK events (only with allowWatchBookmarks=true) carry just kind, apiVersion and the current
 *   resourceVersion, telling the client that everything up to it has been sent.
 */

/** One change to an object; `previous` is the state before it (undefined for ADDED). */
export interface ObjectEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly resourceVersion: number;
  readonly object: KubeObject;
  readonly previous: KubeObject | undefined;
}

/** What one watch request asked for, already parsed and validated. */
export interface WatchRequest {
  /** undefined for "" or "0": start with the current state. */
  readonly fromVersion: number | undefined;
  readonly filter: ObjectFilter;
  readonly bookmarks: boolean;
  readonly timeoutMs: number | undefined;
}

/** What the hub needs from the store it watches. */
export interface WatchedStore {
  readonly kind: string;
  readonly apiVersion: string;
  currentVersion(): number;
  /** Current objects, each with kind/apiVersion, sorted by name. */
  currentObjects(): readonly KubeObject[];
}

interface OpenWatch {
  readonly response: ServerResponse;
  readonly filter: ObjectFilter;
  readonly timers: NodeJS.Timeout[];
}

/** Keeps the event history of one resource and streams it to watchers. */
export class WatchHub {
  private readonly history: ObjectEvent[] = [];
  /** Events at or below this version are forgotten; resuming below it gets 410. */
  private forgottenThrough = 0;
  private readonly watches = new Set<OpenWatch>();

  constructor(
    private readonly store: WatchedStore,
    private readonly historyLimit: number,
    private readonly bookmarkIntervalMs: number,
  ) {}

  /** Records a change and sends it to every open watch whose selector it concerns. */
  record(event: ObjectEvent): void {
    this.history.push(event);
    while (this.history.length > this.historyLimit) {
      const dropped = this.history.shift();
      if (dropped !== undefined) this.forgottenThrough = dropped.resourceVersion;
    }
    for (const watch of this.watches) this.deliver(watch, event);
  }

  /** Forgets all history: a watch resuming from any version older than the current one gets 410. */
  compact(): void {
    this.history.length = 0;
    this.forgottenThrough = this.store.currentVersion();
  }

  /** How many watch streams are open. */
  openCount(): number {
    return this.watches.size;
  }

  /**
   * Serves one watch request on `response` (its head not yet written). `onHead` is told the status sent,
   * for the request log.
   */
  open(request: WatchRequest, response: ServerResponse, onHead: (status: number) => void): void {
    response.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    response.flushHeaders();
    onHead(200);
    const current = this.store.currentVersion();
    const refusal = this.refusalFor(request.fromVersion, current);
    if (refusal !== undefined) {
      response.end(`${JSON.stringify({ type: 'ERROR', object: refusal })}\n`);
      return;
    }
    const watch: OpenWatch = { response, filter: request.filter, timers: [] };
    if (request.fromVersion === undefined) {
      for (const object of this.store.currentObjects()) {
        if (request.filter(object)) this.write(watch, 'ADDED', object);
      }
    } else {
      for (const event of this.history) {
        if (event.resourceVersion > request.fromVersion) this.deliver(watch, event);
      }
    }
    this.watches.add(watch);
    response.once('close', () => this.forget(watch));
    if (request.bookmarks) {
      const bookmark = { kind: this.store.kind, apiVersion: this.store.apiVersion, metadata: {} };
      const timer = setInterval(() => {
        const metadata = { resourceVersion: String(this.store.currentVersion()) };
        this.write(watch, 'BOOKMARK', { ...bookmark, metadata });
      }, this.bookmarkIntervalMs);
      watch.timers.push(timer);
    }
    if (request.timeoutMs !== undefined) {
      watch.timers.push(setTimeout(() => this.end(watch), request.timeoutMs));
    }
  }

  /** Destroys every open watch's socket, as a network failure would; returns how many. */
  dropAll(): number {
    const dropped = [...this.watches];
    for (const watch of dropped) {
      this.forget(watch);
      watch.response.socket?.destroy();
    }
    return dropped.length;
  }

  /**
   * Ends every open watch cleanly and resolves once their last chunks are flushed (or after `flushLimitMs`,
   * for a client that stopped reading), so that closing the connections afterwards loses nothing.
   */
  async endAll(flushLimitMs = 500): Promise<void> {
    const flushed = [...this.watches].map((watch) => {
      const done = new Promise<void>((resolve) => {
        watch.response.once('finish', resolve);
        watch.response.once('close', resolve);
      });
      this.end(watch);
      return done;
    });
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, flushLimitMs);
    });
    await Promise.race([Promise.all(flushed), limit]);
    clearTimeout(timer);
  }

  private refusalFor(fromVersion: number | undefined, current: number): KubeStatus | undefined {
    if (fromVersion === undefined) return undefined;
    if (fromVersion > current) return tooLargeResourceVersionStatus(fromVersion, current);
    if (fromVersion < this.forgottenThrough) return resourceExpiredStatus(fromVersion, this.forgottenThrough);
    return undefined;
  }

  private deliver(watch: OpenWatch, event: ObjectEvent): void {
    const matchesNow = watch.filter(event.object);
    if (event.type !== 'MODIFIED') {
      if (matchesNow) this.write(watch, event.type, event.object);
      return;
    }
    const matchedBefore = event.previous !== undefined && watch.filter(event.previous);
    if (matchesNow) {
      this.write(watch, matchedBefore ? 'MODIFIED' : 'ADDED', event.object);
    } else if (matchedBefore && event.previous !== undefined) {
      // The watcher last saw the previous state; it leaves its view at this event's version.
      const leaving = cloneJson(event.previous);
      leaving.metadata.resourceVersion = String(event.resourceVersion);
      this.write(watch, 'DELETED', leaving);
    }
  }

  private write(watch: OpenWatch, type: string, object: unknown): void {
    const { response } = watch;
    if (response.writableEnded || response.destroyed) return;
    response.write(`${JSON.stringify({ type, object })}\n`);
  }

  private end(watch: OpenWatch): void {
    this.forget(watch);
    if (!watch.response.writableEnded) watch.response.end();
  }

  private forget(watch: OpenWatch): void {
    this.watches.delete(watch);
    for (const timer of watch.timers) clearTimeout(timer);
    watch.timers.length = 0;
  }
}
