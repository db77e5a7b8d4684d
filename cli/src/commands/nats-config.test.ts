import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@switchyard/protocol';
import { findNatsServerBinary, makeTestCertificates, type TestCertificates } from '@switchyard/test-kit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { commandHelp, parseCommandArgs, UsageError } from '../command.js';
import { natsConfigCommand } from './nats-config.js';

/** Runs `switchyard nats-config ARGS` in this process, as main does after parsing (a throw rejects). */
async function natsConfig(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(natsConfigCommand, args);
  return await natsConfigCommand.run(values, positionals);
}

const identitiesFile = {
  schedulers: ['sched-a'],
  agents: [
    { user: 'agent-1', nodeIds: ['trn2-0'] },
    { user: 'pool', nodeIds: 'any-node' },
  ],
  clients: [{ user: 'alice', tenant: 'acme' }],
  operators: ['ops'],
};

let certificates: TestCertificates;

beforeAll(() => {
  certificates = makeTestCertificates();
});

afterAll(() => {
  rmSync(certificates.dir, { recursive: true, force: true });
});

describe('switchyard nats-config', () => {
  let dir: string;
  let identities: string;
  let out: string;
  let printed: string[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sy-nats-config-cmd-'));
    identities = join(dir, 'identities.json');
    writeFileSync(identities, JSON.stringify(identitiesFile));
    out = join(dir, 'auth');
    printed = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      printed.push(args.join(' '));
    });
  });

  afterEach(() => {
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes private seeds, env files and an auth.conf with mutual TLS that nats-server accepts', async () => {
    const code = await natsConfig([
      '--identities',
      identities,
      '--out',
      out,
      '--tls-cert',
      certificates.serverCertFile,
      '--tls-key',
      certificates.serverKeyFile,
      '--tls-ca',
      certificates.caFile,
    ]);
    expect(code).toBe(0);
    const stems = ['scheduler-sched-a', 'agent-agent-1', 'agent-pool', 'client-alice', 'operator-ops'];
    expect(readdirSync(out).sort()).toEqual(
      ['auth.conf', ...stems.flatMap((stem) => [`${stem}.env`, `${stem}.nk`])].sort(),
    );
    expect(statSync(out).mode & 0o777).toBe(0o700);
    const fileModes = readdirSync(out).map((name) => [name, statSync(join(out, name)).mode & 0o777]);
    expect(fileModes).toEqual(readdirSync(out).map((name) => [name, 0o600]));
    expect(readFileSync(join(out, 'client-alice.env'), 'utf8')).toBe(
      `SWITCHYARD_NATS_NKEY=${join(out, 'client-alice.nk')}\nSWITCHYARD_NATS_INBOX_PREFIX=_INBOX.tenant.acme.alice\n`,
    );
    const config = readFileSync(join(out, 'auth.conf'), 'utf8');
    expect(config).toContain(`ca_file: "${certificates.caFile}"`);
    expect(config).toContain('"sy.v1.agent.*.*"');
    const checked = spawnSync(findNatsServerBinary(), ['-t', '-c', join(out, 'auth.conf')], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(`${checked.stdout}${checked.stderr}`).toContain('valid');
    expect(checked.status).toBe(0);
    expect(printed.join('\n')).toContain(`wrote ${join(out, 'auth.conf')}`);
    expect(printed.join('\n')).toContain('each of 5 identities');
  });

  it('refuses an identities file it cannot read with a usage error naming it', async () => {
    const missing = join(dir, 'no-such.json');
    await expect(natsConfig(['--identities', missing, '--out', out])).rejects.toThrow(
      new UsageError(`--identities ${missing}: cannot read it (ENOENT)`),
    );
    await expect(natsConfig(['--identities', dir, '--out', out])).rejects.toThrow(UsageError);
    expect(existsSync(out)).toBe(false);
  });

  it('asks for --identities', async () => {
    await expect(natsConfig(['--out', out])).rejects.toThrow(new UsageError('--identities is required'));
  });

  it.each([
    [['--tls-cert', 'server.pem'], '--tls-cert and --tls-key go together'],
    [['--tls-key', 'server.key'], '--tls-cert and --tls-key go together'],
    [['--tls-ca', 'ca.pem'], '--tls-ca needs --tls-cert and --tls-key'],
  ])('refuses TLS options %j on their own, writing nothing', async (tlsArgs, message) => {
    const run = natsConfig(['--identities', identities, '--out', out, ...tlsArgs]);
    await expect(run).rejects.toThrow(UsageError);
    await expect(run).rejects.toThrow(message);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses an identities file with duplicates, naming it, and writes nothing', async () => {
    writeFileSync(
      identities,
      JSON.stringify({
        ...identitiesFile,
        agents: [...identitiesFile.agents, { user: 'agent-2', nodeIds: ['trn2-0'] }],
      }),
    );
    const run = natsConfig(['--identities', identities, '--out', out]);
    await expect(run).rejects.toThrow(ConfigError);
    await expect(run).rejects.toThrow(
      `${identities}: ✖ node id "trn2-0" is listed under agents "agent-1" and "agent-2"`,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('tells how to give an agent pool any node', () => {
    expect(commandHelp(natsConfigCommand)).toContain('"nodeIds": "any-node"');
  });
});
