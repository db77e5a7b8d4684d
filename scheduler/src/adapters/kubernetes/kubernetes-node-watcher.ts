import { CoreV1Api, type KubeConfig, ListWatch, type V1Node, Watch } from '@kubernetes/client-node';
import type { HostView } from '@switchyard/protocol';
import type { HostLookup } from '../../core/fleet/fleet-view.js';
import type { Counters, Logger } from '../../service/ports.js';
import { hostViewOfNode, sameHostView } from './host-view.js';

/**
 * client-node's Watch, asking for bookmarks and a server-side timeout as client-go's reflector
 * does: bookmarks keep the resume point fresh while Nodes are quiet, so a reconnect resumes
 * instead of relisting every Node; the timeout (5 to 10 minutes, spread) makes each watch end
 * cleanly and restart, so a connection silently dropped by a proxy cannot stall updates for good.
 */
class BookmarkingWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly timeoutSeconds: () => number,
  ) {
    super(config);
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    return super.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true, timeoutSeconds: this.timeoutSeconds() },
      callback,
      done,
    );
  }
}

export interface NodeWatcherOptions {
  /** Only Nodes with these labels (e.g. `switchyard.io/agent=true`); default all. */
  readonly labelSelector?: string;
  /** Server-side timeout of each watch; default 300–600 s, spread like client-go's. */
  readonly watchTimeoutSeconds?: () => number;
  /** First delay before restarting after an error; doubles up to `maxRestartDelayMs`. Default 1 s. */
  readonly restartDelayMs?: number;
  readonly maxRestartDelayMs?: number;
}

/** Told about every Node whose view changed; a deleted Node comes as condition `unknown`. */
export type HostListener = (host: HostView) => void;

/**
 * Keeps what Kubernetes says of every Node (instance type, zone, region, accelerator, cordoned,
 * Ready) through client-node's list-and-watch cache, and tells the scheduler about changes. After
 * an error (API server down, 5xx, expired credentials) it starts the cache again with a doubling
 * delay; the cache relists on 410 Gone and otherwise resumes from its last resourceVersion.
 */
export class KubernetesNodeWatcher implements HostLookup {
  private readonly hosts = new Map<string, HostView>();
  private readonly informer: ListWatch<V1Node>;
  private listener: HostListener = () => undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartDelayMs: number;
  private stopped = false;
  private listed = false;
  private readonly firstList: Promise<void>;
  private resolveFirstList: () => void = () => undefined;

  constructor(
    kubeConfig: KubeConfig,
    private readonly log: Logger,
    private readonly counters: Counters,
    private readonly options: NodeWatcherOptions = {},
  ) {
    const api = kubeConfig.makeApiClient(CoreV1Api);
    const selector = options.labelSelector;
    const timeoutSeconds = options.watchTimeoutSeconds ?? (() => Math.floor(300 * (1 + Math.random())));
    this.restartDelayMs = options.restartDelayMs ?? 1000;
    this.firstList = new Promise((resolve) => (this.resolveFirstList = resolve));
    this.informer = new ListWatch<V1Node>(
      '/api/v1/nodes',
      new BookmarkingWatch(kubeConfig, timeoutSeconds),
      async () => {
        const list = await api.listNode(selector === undefined ? {} : { labelSelector: selector });
        this.onListed();
        return list;
      },
      false,
      selector,
    );
    this.informer.on('add', (node) => this.upsert(node));
    this.informer.on('update', (node) => this.upsert(node));
    this.informer.on('delete', (node) => this.remove(node));
    this.informer.on('error', (err) => this.onError(err));
  }

  /** Starts listing and watching; resolves once the first list arrived or `timeoutMs` passed. */
  async start(listener: HostListener, timeoutMs = 5000): Promise<boolean> {
    this.listener = listener;
    this.informer.start().catch((err: unknown) => this.onError(err));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const listed = await Promise.race([this.firstList.then(() => true as const), timedOut]);
    clearTimeout(timer);
    return listed;
  }

  get(kubernetesNode: string): HostView | undefined {
    return this.hosts.get(kubernetesNode);
  }

  /** Every Node known now. */
  all(): IterableIterator<HostView> {
    return this.hosts.values();
  }

  /** Whether a list has succeeded (the view is complete as of then). */
  get synced(): boolean {
    return this.listed;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    await this.informer.stop();
  }

  private onListed(): void {
    this.listed = true;
    this.restartDelayMs = this.options.restartDelayMs ?? 1000;
    this.counters.increment('kubernetes.node_lists');
    this.resolveFirstList();
  }

  private upsert(node: V1Node): void {
    const view = hostViewOfNode(node);
    if (view === undefined) return;
    const previous = this.hosts.get(view.kubernetesNode);
    if (sameHostView(previous, view)) return;
    this.hosts.set(view.kubernetesNode, view);
    if (previous?.condition !== view.condition) {
      this.log.info(
        { kubernetesNode: view.kubernetesNode, condition: view.condition, was: previous?.condition ?? 'unseen' },
        'kubernetes node condition',
      );
    }
    this.tell(view);
  }

  /** Runs inside client-node's async watch handler: a throw there would be an unhandled rejection. */
  private tell(view: HostView): void {
    try {
      this.listener(view);
    } catch (err) {
      this.log.error({ kubernetesNode: view.kubernetesNode, err: describeError(err) }, 'applying a node change failed');
    }
  }

  private remove(node: V1Node): void {
    const name = node.metadata?.name;
    if (name === undefined || !this.hosts.delete(name)) return;
    this.log.info({ kubernetesNode: name }, 'kubernetes node deleted');
    // The autoscaler deletes a Node after draining it; its agents may heartbeat until the VM is gone.
    this.tell({ kubernetesNode: name, condition: 'deleted' });
  }

  private onError(err: unknown): void {
    if (this.stopped) return;
    this.counters.increment('kubernetes.watch_errors');
    const delayMs = this.restartDelayMs;
    this.restartDelayMs = Math.min(this.restartDelayMs * 2, this.options.maxRestartDelayMs ?? 30_000);
    this.log.warn(
      { err: describeError(err), retryInMs: delayMs },
      'kubernetes node watch failed; keeping the last known nodes',
    );
    this.restartTimer = setTimeout(() => {
      if (!this.stopped) this.informer.start().catch((restartErr: unknown) => this.onError(restartErr));
    }, delayMs);
  }
}

function describeError(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const code = 'code' in err ? err.code : 'statusCode' in err ? err.statusCode : undefined;
    const message = err instanceof Error ? err.message : JSON.stringify(err).slice(0, 200);
    return typeof code === 'number' || typeof code === 'string' ? `${code} ${message}` : message;
  }
  return String(err);
}
