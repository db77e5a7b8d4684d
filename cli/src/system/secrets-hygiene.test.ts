import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { httpPortOf } from '@switchyard/bench';
import { inboxPrefixOf, type NatsIdentity, natsServerConfig } from '@switchyard/protocol';
import { ManagedProcess, NatsServerProcess } from '@switchyard/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_HEARTBEAT_MS, infer, waitFor } from './harness.js';
import { CLI, requireBuiltCli } from './processes.js';

const run = promisify(execFile);

/** Passwords long and unlike anything else, so that finding one anywhere is unambiguous. */
const SECRETS = {
  scheduler: 'sched-pw-7Q4xK9mZ2vB8',
  agent: 'agent-pw-3Hn6Wd1Lr5Ty',
  client: 'client-pw-8Fj2Pq7Xs4Gc',
} as const;
const IDENTITIES = {
  scheduler: { role: 'scheduler', user: 'sched' },
  agent: { role: 'agent', user: 'agent', nodeIds: ['hygiene-0'] },
  client: { role: 'client', user: 'alice', tenant: 'acme' },
} as const satisfies Record<string, NatsIdentity>;

const spawnWith = (args: string[], env: Record<string, string>, ready: RegExp): ManagedProcess =>
  new ManagedProcess({
    command: process.execPath,
    args: [CLI, ...args],
    env: { ...process.env, SWITCHYARD_HTTP_LISTEN: '127.0.0.1:0', ...env },
    readyPattern: ready,
    startTimeoutMs: 30_000,
  });

const leaks = (text: string): string[] => Object.values(SECRETS).filter((secret) => text.includes(secret));

/**
 * Credentials never leave the process that holds them: not in its logs (even with a password in
 * the server URL), not in metrics or the fleet page, not in the error a wrong password gets.
 */
describe('secrets hygiene', () => {
  let server: NatsServerProcess;
  let scheduler: ManagedProcess;
  let agent: ManagedProcess;
  let client: NatsConnection;

  beforeAll(async () => {
    requireBuiltCli();
    const dir = mkdtempSync(join(tmpdir(), 'sy-hygiene-'));
    const configFile = join(dir, 'auth.conf');
    writeFileSync(
      configFile,
      natsServerConfig({
        users: (Object.keys(IDENTITIES) as (keyof typeof IDENTITIES)[]).map((who) => ({
          identity: IDENTITIES[who],
          secret: { kind: 'password', password: SECRETS[who] },
        })),
      }),
    );
    server = await NatsServerProcess.start({ args: ['-c', configFile] });
    const port = new URL(server.url).port;
    // The scheduler reads its password from a file (a mounted Secret), the agent from the environment.
    const passwordFile = join(dir, 'scheduler-password');
    writeFileSync(passwordFile, `${SECRETS.scheduler}\n`, { mode: 0o600 });
    scheduler = spawnWith(
      ['scheduler', '--log-level', 'debug'],
      {
        SWITCHYARD_NATS_URL: `nats://127.0.0.1:${port}`,
        SWITCHYARD_NATS_USER: 'sched',
        SWITCHYARD_NATS_PASSWORD_FILE: passwordFile,
        SWITCHYARD_NATS_INBOX_PREFIX: inboxPrefixOf(IDENTITIES.scheduler),
      },
      /scheduler ready/,
    );
    agent = spawnWith(
      [
        'agent',
        '--node-id',
        'hygiene-0',
        '--nodes',
        '1',
        '--heartbeat-interval-ms',
        String(FAST_HEARTBEAT_MS),
        '--log-level',
        'debug',
      ],
      {
        SWITCHYARD_NATS_URL: server.url,
        SWITCHYARD_NATS_USER: 'agent',
        SWITCHYARD_NATS_PASSWORD: SECRETS.agent,
        SWITCHYARD_NATS_INBOX_PREFIX: inboxPrefixOf(IDENTITIES.agent),
      },
      /agent host ready/,
    );
    await Promise.all([scheduler.ready(), agent.ready()]);
    client = await connect({
      servers: server.url,
      user: 'alice',
      pass: SECRETS.client,
      inboxPrefix: inboxPrefixOf(IDENTITIES.client),
    });
    await waitFor(() => scheduler.output().includes('"msg":"node registered"'), 'the agent registered', 15_000);
  }, 60_000);

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await Promise.all([agent?.stop(3000), scheduler?.stop(3000)]);
    await server?.stop();
  });

  it('keeps passwords out of the logs, the metrics and the fleet page while serving', async () => {
    expect(await infer(client, {}, { tenant: 'acme' })).toMatchObject({ ok: true });
    for (const process of [scheduler, agent]) {
      const port = httpPortOf(process);
      expect(port).toBeDefined();
      for (const path of [
        '/metrics',
        '/healthz',
        '/readyz',
        ...(process === scheduler ? ['/api/fleet', '/fleet'] : []),
      ]) {
        const body = await (await fetch(`http://127.0.0.1:${port}${path}`)).text();
        expect({ path, leaked: leaks(body) }).toEqual({ path, leaked: [] });
      }
    }
    expect(leaks(scheduler.output())).toEqual([]);
    expect(leaks(agent.output())).toEqual([]);
  });

  it('keeps a wrong password out of the error a command prints', async () => {
    const wrong = 'wrong-pw-5Zc1Vb9Nm3Kx';
    const outcome = await run(process.execPath, [CLI, 'status', '--nats-user', 'alice', '--nats-password', wrong], {
      env: { ...process.env, SWITCHYARD_NATS_URL: server.url },
    }).then(
      () => ({ code: 0, stderr: '', stdout: '' }),
      (err: { code: number; stderr: string; stdout: string }) => err,
    );
    expect(outcome.code).not.toBe(0);
    expect(outcome.stderr).toMatch(/authorization violation/i);
    expect(`${outcome.stderr}${outcome.stdout}`).not.toContain(wrong);
  });

  it('refuses credentials written into the server URL, without repeating them', async () => {
    const outcome = await run(process.execPath, [CLI, 'status'], {
      env: { ...process.env, SWITCHYARD_NATS_URL: `nats://alice:${SECRETS.client}@127.0.0.1:4222` },
    }).then(
      () => ({ code: 0, stderr: '', stdout: '' }),
      (err: { code: number; stderr: string; stdout: string }) => err,
    );
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toMatch(/--nats-url nats:\/\/\[redacted\]@127\.0\.0\.1:4222 carries credentials/);
    expect(leaks(`${outcome.stderr}${outcome.stdout}`)).toEqual([]);
  });
});
