import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a route answers. */
export interface OpsResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** Routes by exact path (query strings ignored); GET and HEAD only. */
export type OpsRoutes = Readonly<Record<string, () => OpsResponse | Promise<OpsResponse>>>;

/** Where to listen: `host:port`, port 0 for any free port. */
export interface OpsListen {
  readonly host: string;
  readonly port: number;
}

export class OpsListenError extends Error {
  override readonly name = 'OpsListenError';
}

/**
 * Parses `--http-listen`: `host:port`, `:port` (all interfaces) or `port`; `off` gives undefined.
 * Throws OpsListenError naming the value when it is none of these.
 */
export function parseOpsListen(value: string): OpsListen | undefined {
  if (value === 'off') return undefined;
  const match = /^(?:(.*):)?(\d{1,5})$/.exec(value);
  const port = match === null ? Number.NaN : Number(match[2]);
  if (match === null || !(port >= 0 && port <= 65535)) {
    throw new OpsListenError(`--http-listen must be host:port, :port, port or off; got ${JSON.stringify(value)}`);
  }
  const host = match[1] === undefined || match[1] === '' ? '0.0.0.0' : match[1].replace(/^\[(.*)\]$/, '$1');
  return { host, port };
}

/** A running operator HTTP endpoint. */
export interface OpsServer {
  /** The port it listens on (the chosen one when asked for port 0). */
  readonly port: number;
  close(): Promise<void>;
}

export const text = (status: number, body: string): OpsResponse => ({
  status,
  contentType: 'text/plain; charset=utf-8',
  body,
});
export const json = (status: number, value: unknown): OpsResponse => ({
  status,
  contentType: 'application/json; charset=utf-8',
  body: JSON.stringify(value),
});

/**
 * Serves operator endpoints (metrics, health, pages) on plain HTTP. Never lets a route's failure
 * take the process down: a throwing route answers 500 with the error's message, and `onError`
 * hears about it. Other methods get 405, unknown paths 404.
 */
export async function startOpsServer(
  listen: OpsListen,
  routes: OpsRoutes,
  onError: (err: unknown, path: string) => void,
): Promise<OpsServer> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const send = (response: OpsResponse): void => {
      res.writeHead(response.status, {
        'content-type': response.contentType,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      });
      res.end(req.method === 'HEAD' ? undefined : response.body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      send(text(405, `method ${req.method ?? ''} not allowed\n`));
      return;
    }
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (route === undefined) {
      send(text(404, `no such path: ${path}\n`));
      return;
    }
    Promise.resolve()
      .then(route)
      .then(send, (err: unknown) => {
        onError(err, path);
        send(text(500, `${err instanceof Error ? err.message : String(err)}\n`));
      });
  });
  // Slow clients must not hold sockets forever.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** What the standard routes read: a metrics registry's exposition and the process's readiness. */
export interface OpsStatus {
  readonly metrics: { readonly contentType: string; text(): Promise<string> };
  readiness(): { readonly ready: boolean; readonly reason: string };
}

/** `/metrics`, `/healthz` (200 while the event loop runs) and `/readyz` (200 or 503 with the reason). */
export function standardOpsRoutes(status: OpsStatus): OpsRoutes {
  return {
    '/metrics': async () => ({
      status: 200,
      contentType: status.metrics.contentType,
      body: await status.metrics.text(),
    }),
    '/healthz': () => json(200, { ok: true }),
    '/readyz': () => {
      const { ready, reason } = status.readiness();
      return json(ready ? 200 : 503, { ready, reason });
    },
  };
}
