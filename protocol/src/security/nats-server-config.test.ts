import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNatsServerBinary, makeTestCertificates, type TestCertificates } from '@switchyard/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANY_NODE, type NatsIdentity, NatsIdentityError } from './nats-permissions.js';
import { createNkeyUser, natsServerConfig, type NatsUserEntry } from './nats-server-config.js';

let dir: string;
let certificates: TestCertificates;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sy-nats-config-'));
  certificates = makeTestCertificates();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(certificates.dir, { recursive: true, force: true });
});

let configCount = 0;

/** What the real nats-server says of a configuration (`-t`: parse, load keys and certificates, exit). */
function natsServerTest(config: string): { ok: boolean; output: string } {
  const file = join(dir, `config-${++configCount}.conf`);
  writeFileSync(file, config);
  const result = spawnSync(findNatsServerBinary(), ['-t', '-c', file], { encoding: 'utf8', timeout: 10_000 });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

function nkeyEntry(identity: NatsIdentity): NatsUserEntry {
  return { identity, secret: { kind: 'nkey', publicKey: createNkeyUser().publicKey } };
}

const everyRole: NatsIdentity[] = [
  { role: 'scheduler', user: 'sched-a' },
  { role: 'agent', user: 'agent-1', nodeIds: ['trn2-0', 'trn2-1'] },
  { role: 'agent', user: 'pool', nodeIds: ANY_NODE },
  { role: 'client', user: 'alice', tenant: 'acme' },
  { role: 'operator', user: 'ops' },
];

describe('natsServerConfig', () => {
  it('checks configurations with a nats-server that refuses broken ones', () => {
    // Without this, a test harness that never ran the server would pass everything.
    expect(natsServerTest('authorization: {\n').ok).toBe(false);
    expect(natsServerTest('authorization: { users: [ { nkey: "UNOTAKEY" } ] }\n').ok).toBe(false);
  });

  it('writes nkey users for every role that nats-server accepts', () => {
    const publicKeys = everyRole.map(() => createNkeyUser().publicKey);
    const config = natsServerConfig({
      users: everyRole.map((identity, i) => ({ identity, secret: { kind: 'nkey', publicKey: publicKeys[i] ?? '' } })),
    });
    for (const publicKey of publicKeys) expect(config).toContain(`nkey: "${publicKey}"`);
    expect(config).toContain('"sy.v1.agent.trn2-0.*"');
    expect(config).toContain('"sy.v1.agent.*.*"');
    expect(config).toContain('"_INBOX.tenant.acme.alice.>"');
    expect(config).not.toContain('tls');
    const checked = natsServerTest(config);
    expect(checked.output).toContain('valid');
    expect(checked.ok).toBe(true);
  });

  it('lets only the roles that answer requests answer them', () => {
    const config = natsServerConfig({ users: everyRole.map(nkeyEntry) });
    const entries = config.split(/\n {4}# /).slice(1);
    expect(entries).toHaveLength(everyRole.length);
    const answering = entries.filter((entry) => entry.includes('allow_responses')).map((entry) => entry.split(' ')[0]);
    expect(answering).toEqual(['scheduler', 'agent', 'agent']);
  });

  it('writes password users, unrestricted keys and mutual TLS that nats-server accepts', () => {
    const config = natsServerConfig({
      users: [
        { identity: { role: 'scheduler', user: 'sched-a' }, secret: { kind: 'password', password: 'twelve-chars' } },
        {
          identity: { role: 'client', user: 'alice', tenant: 'acme' },
          secret: { kind: 'password', password: 'quote " and \\ backslash' },
        },
        nkeyEntry({ role: 'operator', user: 'ops' }),
      ],
      unrestricted: [{ name: 'break glass\n}', publicKey: createNkeyUser().publicKey }],
      tls: { certFile: certificates.serverCertFile, keyFile: certificates.serverKeyFile, caFile: certificates.caFile },
    });
    expect(config).toContain('user: "sched-a", password: "twelve-chars"');
    expect(config).toContain('# break glass??: unrestricted');
    expect(config).toContain(`ca_file: "${certificates.caFile}"`);
    expect(config).toContain('verify: true');
    const checked = natsServerTest(config);
    expect(checked.output).toContain('valid');
    expect(checked.ok).toBe(true);
  });

  it('asks for no client certificate without a CA, and nats-server loads the certificate it names', () => {
    const tls = { certFile: certificates.serverCertFile, keyFile: certificates.serverKeyFile };
    const config = natsServerConfig({ users: [nkeyEntry({ role: 'operator', user: 'ops' })], tls });
    expect(config).toContain(`cert_file: "${certificates.serverCertFile}"`);
    expect(config).not.toContain('verify');
    expect(config).not.toContain('ca_file');
    expect(natsServerTest(config).ok).toBe(true);
    const missing = natsServerConfig({
      users: [nkeyEntry({ role: 'operator', user: 'ops' })],
      tls: { ...tls, certFile: join(dir, 'no-such-cert.pem') },
    });
    expect(natsServerTest(missing).ok).toBe(false);
  });

  it('refuses an identity listed twice', () => {
    expect(() =>
      natsServerConfig({
        users: [
          nkeyEntry({ role: 'client', user: 'alice', tenant: 'acme' }),
          nkeyEntry({ role: 'client', user: 'alice', tenant: 'other' }),
        ],
      }),
    ).toThrow(new NatsIdentityError('client alice is listed twice'));
  });

  it('refuses one password user name in two roles, which nats-server itself would refuse', () => {
    const password = { kind: 'password', password: 'long-enough-password' } as const;
    const twice = {
      users: [
        { identity: { role: 'operator', user: 'ops' }, secret: password },
        { identity: { role: 'scheduler', user: 'ops' }, secret: password },
      ],
    } as const;
    expect(() => natsServerConfig(twice)).toThrow(/password user ops is listed twice/);
    // Distinct names are fine, and so is one name with nkeys (the server tells those apart by key).
    const distinct = natsServerConfig({
      users: [twice.users[0], { identity: { role: 'scheduler', user: 'sched' }, secret: password }],
    });
    expect(natsServerTest(distinct).ok).toBe(true);
  });

  it.each([
    ['a seed', createNkeyUser().seed],
    ['an account key', `A${'A'.repeat(55)}`],
    ['a short key', `U${'A'.repeat(54)}`],
    ['a lower-case key', createNkeyUser().publicKey.toLowerCase()],
  ])('refuses %s as a user public key', (_, key) => {
    const publicKey = typeof key === 'string' ? key : new TextDecoder().decode(key);
    const identity: NatsIdentity = { role: 'operator', user: 'ops' };
    expect(() => natsServerConfig({ users: [{ identity, secret: { kind: 'nkey', publicKey } }] })).toThrow(
      NatsIdentityError,
    );
    expect(() => natsServerConfig({ users: [], unrestricted: [{ name: 'observer', publicKey }] })).toThrow(
      /unrestricted observer: not an nkey user public key/,
    );
  });

  it('refuses a password shorter than 12 characters', () => {
    const identity: NatsIdentity = { role: 'scheduler', user: 'sched-a' };
    expect(() =>
      natsServerConfig({ users: [{ identity, secret: { kind: 'password', password: 'eleven-char' } }] }),
    ).toThrow(/at least 12 characters/);
    expect(() =>
      natsServerConfig({ users: [{ identity, secret: { kind: 'password', password: 'twelve-chars' } }] }),
    ).not.toThrow();
  });

  it('refuses an identity whose user is not a subject token', () => {
    expect(() => natsServerConfig({ users: [nkeyEntry({ role: 'operator', user: 'ops"}' })] })).toThrow(
      NatsIdentityError,
    );
  });
});
