import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { type AgentHostHandle, startAgentHost } from '@switchyard/node-agent';
import {
  createNkeyUser,
  inboxPrefixOf,
  natsAuthOptions,
  type NatsCredentials,
  type NatsIdentity,
  natsServerConfig,
} from '@switchyard/protocol';
import type { SchedulerHandle } from '@switchyard/scheduler';
import { makeTestCertificates, NatsServerProcess, type TestCertificates } from '@switchyard/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_HEARTBEAT_MS, h100, infer, startTestScheduler, testLogs, waitFor } from './harness.js';

const IDENTITIES = {
  scheduler: { role: 'scheduler', user: 'sched' },
  agent: { role: 'agent', user: 'agent', nodeIds: ['tls-0'] },
  client: { role: 'client', user: 'alice', tenant: 'acme' },
} as const satisfies Record<string, NatsIdentity>;

/**
 * TLS to NATS: the server presents a certificate of a private CA and requires client certificates
 * (mutual TLS) on top of the nkeys; processes verify the server against that CA.
 */
describe('NATS over mutual TLS with nkeys', () => {
  let certs: TestCertificates;
  let server: NatsServerProcess;
  let scheduler: SchedulerHandle;
  let agents: AgentHostHandle;
  const credentials = new Map<keyof typeof IDENTITIES, NatsCredentials>();

  beforeAll(async () => {
    certs = makeTestCertificates();
    const dir = mkdtempSync(join(tmpdir(), 'sy-tls-auth-'));
    const users = Object.entries(IDENTITIES).map(([who, identity]) => {
      const { publicKey, seed } = createNkeyUser();
      const seedFile = join(dir, `${who}.nk`);
      writeFileSync(seedFile, seed, { mode: 0o600 });
      credentials.set(who as keyof typeof IDENTITIES, {
        nkeySeedFile: seedFile,
        inboxPrefix: inboxPrefixOf(identity),
        tls: { caFile: certs.caFile, certFile: certs.clientCertFile, keyFile: certs.clientKeyFile },
      });
      return { identity, secret: { kind: 'nkey' as const, publicKey } };
    });
    const configFile = join(dir, 'server.conf');
    writeFileSync(
      configFile,
      natsServerConfig({
        users,
        tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, caFile: certs.caFile },
      }),
    );
    server = await NatsServerProcess.start({ args: ['-c', configFile] });
    scheduler = await startTestScheduler(server.url, { natsCredentials: credentials.get('scheduler')! });
    agents = await startAgentHost({
      natsUrl: server.url,
      natsCredentials: credentials.get('agent')!,
      nodes: [h100('tls-0')],
      heartbeatIntervalMs: FAST_HEARTBEAT_MS,
      logDestination: testLogs(),
    });
    await waitFor(() => scheduler.fleet.size === 1, 'the agent registered over TLS', 15_000);
  }, 60_000);

  afterAll(async () => {
    await agents?.stop(500);
    await scheduler?.stop();
    await server?.stop();
  });

  it('serves a client over TLS with a client certificate', async () => {
    const nc = await connect({ servers: server.url, ...natsAuthOptions(credentials.get('client')) });
    try {
      expect(nc.info?.tls_required).toBe(true);
      expect(await infer(nc, {}, { tenant: 'acme' })).toMatchObject({ ok: true });
    } finally {
      await nc.close();
    }
  });

  it('refuses a server whose certificate its CA did not sign', async () => {
    const client = credentials.get('client')!;
    await expect(
      connect({
        servers: server.url,
        reconnect: false,
        ...natsAuthOptions({
          ...client,
          tls: { caFile: certs.otherCaFile, certFile: certs.clientCertFile, keyFile: certs.clientKeyFile },
        }),
      }),
    ).rejects.toThrow(/certificate|self.signed|verify/i);
  });

  it('is refused by the server without a client certificate, even with a valid nkey', async () => {
    const client = credentials.get('client')!;
    await expect(
      connect({
        servers: server.url,
        reconnect: false,
        ...natsAuthOptions({ ...client, tls: { caFile: certs.caFile } }),
      }),
    ).rejects.toThrow(/bad certificate|certificate required/i);
  });
});
