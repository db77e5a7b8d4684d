import { afterEach, describe, expect, it } from 'vitest';
import {
  OpsListenError,
  type OpsServer,
  parseOpsListen,
  standardOpsRoutes,
  startOpsServer,
  text,
} from './ops-server.js';

describe('parseOpsListen', () => {
  it.each([
    ['0.0.0.0:9464', { host: '0.0.0.0', port: 9464 }],
    [':9465', { host: '0.0.0.0', port: 9465 }],
    ['8080', { host: '0.0.0.0', port: 8080 }],
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
    ['[::1]:9464', { host: '::1', port: 9464 }],
    ['off', undefined],
  ])('reads %s', (value, expected) => {
    expect(parseOpsListen(value)).toEqual(expected);
  });

  it.each(['', 'localhost', 'host:', 'host:70000', ':-1', 'on'])('refuses %j with the value named', (value) => {
    expect(() => parseOpsListen(value)).toThrow(OpsListenError);
    expect(() => parseOpsListen(value)).toThrow(JSON.stringify(value));
  });
});

describe('startOpsServer with the standard routes', () => {
  let server: OpsServer | undefined;
  const errors: string[] = [];
  let ready = false;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(): Promise<string> {
    server = await startOpsServer(
      { host: '127.0.0.1', port: 0 },
      {
        ...standardOpsRoutes({
          metrics: { contentType: 'text/plain; version=0.0.4', text: async () => 'switchyard_up 1\n' },
          readiness: () => ({ ready, reason: ready ? 'leading' : 'rebuilding the fleet view' }),
        }),
        '/boom': () => {
          throw new Error('route broke');
        },
        '/plain': () => text(200, 'hello\n'),
      },
      (err, path) => errors.push(`${path}: ${err instanceof Error ? err.message : String(err)}`),
    );
    return `http://127.0.0.1:${server.port}`;
  }

  it('serves metrics, health and readiness with the reason', async () => {
    const base = await start();
    const metrics = await fetch(`${base}/metrics`);
    expect([metrics.status, metrics.headers.get('content-type'), await metrics.text()]).toEqual([
      200,
      'text/plain; version=0.0.4',
      'switchyard_up 1\n',
    ]);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    ready = false;
    const notReady = await fetch(`${base}/readyz`);
    expect([notReady.status, await notReady.json()]).toEqual([
      503,
      { ready: false, reason: 'rebuilding the fleet view' },
    ]);
    ready = true;
    expect((await fetch(`${base}/readyz?verbose=1`)).status).toBe(200);
  });

  it('answers 404, 405 and a throwing route with 500 while it keeps serving', async () => {
    const base = await start();
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    const boom = await fetch(`${base}/boom`);
    expect([boom.status, await boom.text()]).toEqual([500, 'route broke\n']);
    expect(errors).toContain('/boom: route broke');
    expect(await (await fetch(`${base}/plain`)).text()).toBe('hello\n');
    // Inherited object keys are not routes.
    expect((await fetch(`${base}/constructor`)).status).toBe(404);
  });

  it('fails to start on a port in use, naming the error', async () => {
    const base = await start();
    const port = Number(new URL(base).port);
    await expect(startOpsServer({ host: '127.0.0.1', port }, {}, () => undefined)).rejects.toThrow(/EADDRINUSE/);
  });
});
