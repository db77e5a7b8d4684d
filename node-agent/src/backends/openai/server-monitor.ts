import { describeNetworkError } from './openai-wire.js';
import { readServerLoad, type ServerLoad } from './server-metrics.js';

/** `starting`: no check has passed yet; `unhealthy`: checks passed once and then kept failing. */
export type ServerHealth = 'starting' | 'healthy' | 'unhealthy';

/** Settings of a monitor; the paths are relative to `baseUrl`. */
export interface ServerMonitorOptions {
  readonly baseUrl: string;
  readonly intervalMs: number;
  readonly healthPath: string;
  readonly metricsPath: string;
  /** Consecutive failed checks after which a healthy server counts as down. */
  readonly unhealthyAfterFailures: number;
  readonly apiKey: string | undefined;
  readonly clock: () => number;
  readonly fetch: typeof fetch;
  /** The server passed a check after not being healthy. */
  onHealthy(): void;
  /** The server was healthy and has failed `unhealthyAfterFailures` checks in a row. */
  onUnhealthy(reason: string): void;
}

/**
 * Watches a model server: every interval a GET of its health path, then (while healthy) a scrape
 * of its Prometheus metrics; on each recovery, its /v1/models list. Probes are bounded by
 * max(1 s, interval) and aborted by `close()`. Nothing here rejects.
 */
export class ServerMonitor {
  private state: ServerHealth = 'starting';
  private why = 'no health check has answered yet';
  private failedChecks = 0;
  private listed: ReadonlySet<string> | undefined;
  private lastLoad: { readonly load: ServerLoad; readonly atMs: number } | undefined;
  private refreshing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly closing = new AbortController();

  constructor(private readonly options: ServerMonitorOptions) {
    this.timer = setInterval(() => void this.refresh(), options.intervalMs);
    // The owner closes the monitor; the timer alone must not keep a process alive.
    this.timer.unref();
  }

  get health(): ServerHealth {
    return this.state;
  }

  /** Why the server is in its state: the last failed check, or that the last one passed. */
  get reason(): string {
    return this.why;
  }

  /** Model ids from the server's /v1/models, or undefined when it has none (or never answered). */
  get listedModels(): ReadonlySet<string> | undefined {
    return this.listed;
  }

  /**
   * The last scrape, while recent enough to describe the server now: within 3 check intervals and
   * at least 2 s (the Gateway API Inference Extension's staleness bound).
   */
  freshLoad(nowMs: number): ServerLoad | undefined {
    if (this.lastLoad === undefined) return undefined;
    const staleAfterMs = Math.max(2_000, 3 * this.options.intervalMs);
    return nowMs - this.lastLoad.atMs <= staleAfterMs ? this.lastLoad.load : undefined;
  }

  /** Checks and scrapes now; concurrent calls share one check. */
  refresh(): Promise<void> {
    this.refreshing ??= this.check().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Stops the timer and aborts probes in flight. */
  close(): void {
    clearInterval(this.timer);
    this.closing.abort();
  }

  private get closed(): boolean {
    return this.closing.signal.aborted;
  }

  private async check(): Promise<void> {
    const health = await this.get(this.options.healthPath);
    if (this.closed) return;
    if (!health.ok) {
      this.failedChecks++;
      this.why = health.reason;
      if (this.state === 'healthy' && this.failedChecks >= this.options.unhealthyAfterFailures) {
        this.state = 'unhealthy';
        this.lastLoad = undefined;
        this.options.onUnhealthy(health.reason);
      }
      return;
    }
    this.failedChecks = 0;
    if (this.state !== 'healthy') {
      // Read when the server comes up; a server without /v1/models leaves the model list unchecked.
      const listed = await this.get('/v1/models');
      if (this.closed) return;
      this.listed = listed.ok ? modelIds(listed.body) : undefined;
      this.state = 'healthy';
      this.why = 'health check passed';
      this.options.onHealthy();
    }
    const metrics = await this.get(this.options.metricsPath);
    if (this.closed || !metrics.ok) return;
    this.lastLoad = { load: readServerLoad(metrics.body), atMs: this.options.clock() };
  }

  /** One GET with a timeout; the body as text when the answer is 2xx. */
  private async get(path: string): Promise<{ ok: true; body: string } | { ok: false; reason: string }> {
    const timeoutMs = Math.max(1_000, this.options.intervalMs);
    try {
      const response = await this.options.fetch(this.options.baseUrl + path, {
        headers: this.options.apiKey === undefined ? {} : { authorization: `Bearer ${this.options.apiKey}` },
        signal: AbortSignal.any([this.closing.signal, AbortSignal.timeout(timeoutMs)]),
      });
      const body = await response.text();
      return response.ok ? { ok: true, body } : { ok: false, reason: `GET ${path} answered ${response.status}` };
    } catch (err) {
      return { ok: false, reason: `GET ${path} failed: ${describeNetworkError(err)}` };
    }
  }
}

/** Model ids of a /v1/models answer (`{"data": [{"id": …}]}`); undefined when it is not one. */
function modelIds(body: string): ReadonlySet<string> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || !('data' in parsed) || !Array.isArray(parsed.data))
    return undefined;
  const ids = new Set<string>();
  for (const model of parsed.data as unknown[]) {
    if (typeof model === 'object' && model !== null && 'id' in model && typeof model.id === 'string') ids.add(model.id);
  }
  return ids;
}
