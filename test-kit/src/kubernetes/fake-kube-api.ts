import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cloneJson, withoutTypeMeta } from './kube-object.js';
import {
  badRequestStatus,
  failureStatus,
  injectedFailureStatus,
  type KubeStatus,
  methodNotAllowedStatus,
  notFoundStatus,
  pathNotFoundStatus,
  requestEntityTooLargeStatus,
  unauthorizedStatus,
} from './kube-status.js';
import { type ApiReply, LeaseStore } from './lease-api.js';
import { FakeKubeApiError, NodeStore } from './node-store.js';
import {
  nodeSelectableFields,
  type ObjectFilter,
  parseFieldSelector,
  parseLabelSelector,
  SelectorSyntaxError,
} from './object-selectors.js';
import type { WatchRequest } from './watch-hub.js';

export { FakeKubeApiError } from './node-store.js';

/**
 * An in-process Kubernetes API server for tests: the subset Switchyard's scheduler uses (Nodes: list, get,
 * watch; coordination.k8s.io/v1 Leases: create, get, list, replace, delete), on plain `node:http`, speaking the
 * real wire format so that the REAL `@kubernetes/client-node` (ListWatch, Watch, CoordinationV1Api) runs
 * against it unchanged. Sources for the format:
 * - "API Concepts" (kubernetes.io/docs/reference/using-api/api-concepts/): one global resourceVersion
 *   (etcd's revision) across objects, lists carry it in `metadata.resourceVersion`; watches stream one JSON
 *   event per line over chunked HTTP 200, resume after a resourceVersion, BOOKMARK events, and the
 *   "410 Gone" answer when history is gone (see watch-hub.ts).
 * - "API conventions" (github.com/kubernetes/community/…/api-conventions.md): Status objects for every
 *   failure, 409 AlreadyExists/Conflict, optimistic concurrency on resourceVersion (see kube-status.ts).
 * - Lease API reference (kubernetes.io/docs/reference/kubernetes-api/cluster-resources/lease-v1/) and the
 *   apiserver's lease strategy and MicroTime decoding (see lease-api.ts).
 * Deliberate departures: no managedFields, no pagination (`limit`/`continue` are ignored and the whole list
 * is returned, which clients treat as the last page), a watch from a future resourceVersion is refused at
 * once instead of after the apiserver's 3 s wait, and a too-large body is drained (not buffered) before
 * the 413 so that the client always reads the answer.
 */

/** Options for {@link startFakeKubeApi}. */
export interface FakeKubeApiOptions {
  /** When set, every request must carry `Authorization: Bearer <token>`, else 401 Status Unauthorized. */
  readonly bearerToken?: string;
  /** How often a watch with allowWatchBookmarks=true gets a BOOKMARK event (default 1000 ms). */
  readonly bookmarkIntervalMs?: number;
  /** Newest resourceVersions kept for watch resumption; older ones get 410 (default 1000 events). */
  readonly historyLimit?: number;
}

/** One request the server received; `status` is 0 until the response head has been written. */
export interface FakeKubeApiRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly status: number;
}

/** A cluster entry for `KubeConfig.loadFromOptions`. */
export interface FakeKubeCluster {
  readonly name: string;
  readonly server: string;
  readonly skipTLSVerify: boolean;
}

/** A user entry for `KubeConfig.loadFromOptions` (a token only when the server requires one). */
export interface FakeKubeUser {
  readonly name: string;
  readonly token?: string;
}

/** A context entry for `KubeConfig.loadFromOptions`. */
export interface FakeKubeContext {
  readonly name: string;
  readonly cluster: string;
  readonly user: string;
  readonly namespace: string;
}

/** What `KubeConfig.loadFromOptions` takes. */
export interface FakeKubeConfigOptions {
  readonly clusters: readonly FakeKubeCluster[];
  readonly users: readonly FakeKubeUser[];
  readonly contexts: readonly FakeKubeContext[];
  readonly currentContext: string;
}

/** A running fake API server; see the module doc for what it serves. */
export interface FakeKubeApi {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** A KubeConfig-ready object for client-node: `kc.loadFromOptions(fake.kubeConfigOptions())`. */
  kubeConfigOptions(): FakeKubeConfigOptions;
  /** Creates or replaces a Node (ADDED or MODIFIED event); returns its new resourceVersion. */
  putNode(node: object): string;
  /** Deletes a Node (DELETED event); returns the deletion's resourceVersion. Throws when there is none. */
  deleteNode(name: string): string;
  /** A copy of a Node, or undefined. */
  getNode(name: string): object | undefined;
  /** Sets (or, with false, clears) spec.unschedulable; returns the new resourceVersion. */
  cordon(name: string, unschedulable?: boolean): string;
  /** Sets the Ready condition True (KubeletReady) or False (KubeletNotReady); returns the new resourceVersion. */
  setReady(name: string, ready: boolean): string;
  /** A copy of a Lease as clients last wrote it, or undefined. */
  getLease(namespace: string, name: string): object | undefined;
  /** Destroys every open watch connection abruptly (socket destroy); returns how many. */
  dropWatches(): number;
  /** Forgets all event history: resuming any older resourceVersion now gets 410. */
  compactHistory(): void;
  /** The next `count` requests whose path starts with `pathPrefix` (default: any) get a Status with `status`. */
  failNext(count: number, status: number, pathPrefix?: string): void;
  /** Every request, in arrival order. */
  readonly requests: readonly FakeKubeApiRequest[];
  /** How many watch streams are open. */
  openWatches(): number;
  /** Ends every open watch response and closes the server. */
  close(): Promise<void>;
}

/** The apiserver's request body limit (`MaxRequestBodyBytes`, 3 MiB). */
const maxRequestBodyBytes = 3 * 1024 * 1024;
/** Past this much drained over-limit body the connection is cut rather than read further. */
const maxDrainedBodyBytes = 16 * maxRequestBodyBytes;

const nodesResource = { group: '', resource: 'nodes' };
const leasePath = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/;

interface RequestLogEntry {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  status: number;
}

interface FailureInjection {
  remaining: number;
  readonly status: number;
  readonly pathPrefix: string;
}

type BodyResult =
  { readonly kind: 'body'; readonly bytes: Buffer } | { readonly kind: 'too-large' } | { readonly kind: 'aborted' };

/**
 * Reads a request body up to `maxRequestBodyBytes`. Past the limit it answers at once and drains (does not
 * keep) the rest, so that the client can finish sending and read the 413.
 */
function readBody(request: IncomingMessage): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let receivedBytes = 0;
    request.on('data', (chunk: Buffer) => {
      receivedBytes += chunk.length;
      if (receivedBytes <= maxRequestBodyBytes) {
        chunks.push(chunk);
        return;
      }
      chunks.length = 0;
      resolve({ kind: 'too-large' });
      if (receivedBytes > maxDrainedBodyBytes) request.socket.destroy();
    });
    request.on('end', () => resolve({ kind: 'body', bytes: Buffer.concat(chunks) }));
    request.on('error', () => resolve({ kind: 'aborted' }));
    request.on('close', () => resolve({ kind: 'aborted' }));
  });
}

class FakeKubeApiServer implements FakeKubeApi {
  private readonly server: Server;
  private revision = 0;
  private readonly nodes: NodeStore;
  private readonly leases: LeaseStore;
  private readonly injections: FailureInjection[] = [];
  private readonly requestLog: RequestLogEntry[] = [];
  private port = 0;

  constructor(private readonly options: FakeKubeApiOptions) {
    const revisions = { current: () => this.revision, next: () => ++this.revision };
    this.nodes = new NodeStore(revisions, options.historyLimit ?? 1000, options.bookmarkIntervalMs ?? 1000);
    this.leases = new LeaseStore(revisions);
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        const message = `Internal error occurred: ${error instanceof Error ? error.message : String(error)}`;
        if (!response.headersSent)
          this.reply(response, { status: 500, body: failureStatus(500, 'InternalError', message) });
        else response.destroy();
      });
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get requests(): readonly FakeKubeApiRequest[] {
    return this.requestLog;
  }

  kubeConfigOptions(): FakeKubeConfigOptions {
    const token = this.options.bearerToken;
    return {
      clusters: [{ name: 'fake-kube-api', server: this.url, skipTLSVerify: true }],
      users: [token === undefined ? { name: 'fake-kube-api-user' } : { name: 'fake-kube-api-user', token }],
      contexts: [{ name: 'fake-kube-api', cluster: 'fake-kube-api', user: 'fake-kube-api-user', namespace: 'default' }],
      currentContext: 'fake-kube-api',
    };
  }

  putNode(node: object): string {
    return this.nodes.put(node);
  }

  deleteNode(name: string): string {
    return this.nodes.delete(name);
  }

  getNode(name: string): object | undefined {
    const node = this.nodes.find(name);
    return node === undefined ? undefined : cloneJson(node);
  }

  cordon(name: string, unschedulable = true): string {
    return this.nodes.cordon(name, unschedulable);
  }

  setReady(name: string, ready: boolean): string {
    return this.nodes.setReady(name, ready);
  }

  getLease(namespace: string, name: string): object | undefined {
    return this.leases.get(namespace, name);
  }

  dropWatches(): number {
    return this.nodes.watch.dropAll();
  }

  compactHistory(): void {
    this.nodes.watch.compact();
  }

  failNext(count: number, status: number, pathPrefix = ''): void {
    if (!Number.isInteger(count) || count < 1) {
      throw new FakeKubeApiError('INVALID_ARGUMENT', `failNext count must be a positive integer, got ${count}`);
    }
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new FakeKubeApiError('INVALID_ARGUMENT', `failNext status must be an HTTP error code, got ${status}`);
    }
    this.injections.push({ remaining: count, status, pathPrefix });
  }

  openWatches(): number {
    return this.nodes.watch.openCount();
  }

  async close(): Promise<void> {
    await this.nodes.watch.endAll();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private reply(response: ServerResponse, reply: ApiReply, headers: Record<string, string> = {}): void {
    const body = JSON.stringify(reply.body);
    response.writeHead(reply.status, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Content-Length': Buffer.byteLength(body),
      ...headers,
    });
    response.end(body);
  }

  /** The failure to inject into this request, if one is pending for its path. */
  private takeInjection(path: string): FailureInjection | undefined {
    const injection = this.injections.find((candidate) => path.startsWith(candidate.pathPrefix));
    if (injection === undefined) return undefined;
    injection.remaining--;
    if (injection.remaining === 0) this.injections.splice(this.injections.indexOf(injection), 1);
    return injection;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://fake-kube-api');
    const method = request.method ?? 'GET';
    const entry: RequestLogEntry = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: 0,
    };
    this.requestLog.push(entry);
    const send = (reply: ApiReply, headers?: Record<string, string>): void => {
      entry.status = reply.status;
      this.reply(response, reply, headers);
    };
    const sendStatus = (status: KubeStatus, headers?: Record<string, string>): void =>
      send({ status: status.code ?? 500, body: status }, headers);

    const token = this.options.bearerToken;
    if (token !== undefined && request.headers.authorization !== `Bearer ${token}`)
      return sendStatus(unauthorizedStatus());
    const injection = this.takeInjection(entry.path);
    if (injection !== undefined) {
      const headers: Record<string, string> = injection.status === 429 ? { 'Retry-After': '1' } : {};
      return sendStatus(injectedFailureStatus(injection.status), headers);
    }

    if (entry.path === '/api/v1/nodes') {
      if (method !== 'GET') return sendStatus(methodNotAllowedStatus());
      const filter = this.selectorFilter(entry.query);
      if (filter instanceof SelectorSyntaxError) return sendStatus(badRequestStatus(filter.message));
      const watch = entry.query['watch'];
      if (watch === 'true' || watch === '1') return this.openNodeWatch(entry, filter, response, sendStatus);
      const items = this.nodes.sorted().filter(filter).map(withoutTypeMeta);
      const metadata = { resourceVersion: String(this.revision) };
      return send({ status: 200, body: { kind: 'NodeList', apiVersion: 'v1', metadata, items } });
    }
    const nodeMatch = /^\/api\/v1\/nodes\/([^/]+)$/.exec(entry.path);
    if (nodeMatch !== null) {
      if (method !== 'GET') return sendStatus(methodNotAllowedStatus());
      const name = decodeURIComponent(nodeMatch[1] ?? '');
      const node = this.nodes.find(name);
      return node === undefined ? sendStatus(notFoundStatus(nodesResource, name)) : send({ status: 200, body: node });
    }
    const leaseMatch = leasePath.exec(entry.path);
    if (leaseMatch === null) return sendStatus(pathNotFoundStatus());
    const namespace = decodeURIComponent(leaseMatch[1] ?? '');
    const name = leaseMatch[2] === undefined ? undefined : decodeURIComponent(leaseMatch[2]);
    const allowed = name === undefined ? ['GET', 'POST'] : ['GET', 'PUT', 'DELETE'];
    if (!allowed.includes(method)) return sendStatus(methodNotAllowedStatus());
    if (method === 'GET')
      return send(name === undefined ? this.leases.list(namespace) : this.leases.read(namespace, name));
    const body = await readBody(request);
    if (body.kind === 'aborted') return;
    if (body.kind === 'too-large') return sendStatus(requestEntityTooLargeStatus(maxRequestBodyBytes));
    if (name === undefined) return send(this.leases.create(namespace, body.bytes));
    if (method === 'PUT') return send(this.leases.replace(namespace, name, body.bytes));
    return send(this.leases.delete(namespace, name, body.bytes));
  }

  private selectorFilter(query: Readonly<Record<string, string>>): ObjectFilter | SelectorSyntaxError {
    try {
      const labels = parseLabelSelector(query['labelSelector'] ?? '');
      const fields = parseFieldSelector(query['fieldSelector'] ?? '', nodeSelectableFields);
      return (object) => labels(object) && fields(object);
    } catch (error) {
      if (error instanceof SelectorSyntaxError) return error;
      throw error;
    }
  }

  private openNodeWatch(
    entry: RequestLogEntry,
    filter: ObjectFilter,
    response: ServerResponse,
    sendStatus: (status: KubeStatus) => void,
  ): void {
    const versionText = entry.query['resourceVersion'] ?? '';
    const fromVersion = versionText === '' || versionText === '0' ? undefined : Number(versionText);
    if (fromVersion !== undefined && !(/^\d+$/.test(versionText) && Number.isSafeInteger(fromVersion))) {
      return sendStatus(badRequestStatus(`invalid resource version: ${JSON.stringify(versionText)}`));
    }
    const timeoutText = entry.query['timeoutSeconds'];
    if (timeoutText !== undefined && !/^\d+$/.test(timeoutText)) {
      return sendStatus(badRequestStatus(`invalid timeoutSeconds: ${JSON.stringify(timeoutText)}`));
    }
    const watchRequest: WatchRequest = {
      fromVersion,
      filter,
      bookmarks: entry.query['allowWatchBookmarks'] === 'true',
      timeoutMs: timeoutText === undefined || timeoutText === '0' ? undefined : Number(timeoutText) * 1000,
    };
    this.nodes.watch.open(watchRequest, response, (status) => {
      entry.status = status;
    });
  }
}

/** Starts a fake Kubernetes API server on a free loopback port. Close it when done. */
export async function startFakeKubeApi(options: FakeKubeApiOptions = {}): Promise<FakeKubeApi> {
  const server = new FakeKubeApiServer(options);
  await server.listen();
  return server;
}
