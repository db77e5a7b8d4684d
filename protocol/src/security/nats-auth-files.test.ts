import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nkeys } from '@nats-io/nats-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../config.js';
import { identityKey, parseNatsIdentities, writeNatsAuthFiles } from './nats-auth-files.js';
import { ANY_NODE, inboxPrefixOf, type NatsIdentity, NatsIdentityError } from './nats-permissions.js';

const SOURCE = '/etc/switchyard/identities.json';

/** The ConfigError parseNatsIdentities throws for `file` (fails the test when it throws none). */
function parseError(file: unknown): ConfigError {
  try {
    parseNatsIdentities(JSON.stringify(file), SOURCE);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`parsed without error: ${JSON.stringify(file)}`);
}

const validFile = {
  schedulers: ['sched-a', 'sched-b'],
  agents: [
    { user: 'agent-1', nodeIds: ['trn2-0', 'trn2-1'] },
    { user: 'pool', nodeIds: ANY_NODE },
  ],
  clients: [
    { user: 'alice', tenant: 'acme' },
    { user: 'bob', tenant: 'acme' },
  ],
  operators: ['ops'],
};

describe('parseNatsIdentities', () => {
  it('reads every role, in file order', () => {
    expect(parseNatsIdentities(JSON.stringify(validFile), SOURCE)).toEqual([
      { role: 'scheduler', user: 'sched-a' },
      { role: 'scheduler', user: 'sched-b' },
      { role: 'agent', user: 'agent-1', nodeIds: ['trn2-0', 'trn2-1'] },
      { role: 'agent', user: 'pool', nodeIds: ANY_NODE },
      { role: 'client', user: 'alice', tenant: 'acme' },
      { role: 'client', user: 'bob', tenant: 'acme' },
      { role: 'operator', user: 'ops' },
    ]);
  });

  it('needs no operators, and lets one name be a user in two roles (they get apart files and entries)', () => {
    const identities = parseNatsIdentities(
      JSON.stringify({ schedulers: ['x'], agents: [], clients: [{ user: 'x', tenant: 'acme' }] }),
    );
    expect(identities.map(identityKey)).toEqual(['scheduler:x', 'client:x']);
  });

  it.each([
    [
      'a scheduler',
      { ...validFile, schedulers: ['sched-a', 'sched-b', 'sched-a'] },
      'scheduler "sched-a" is listed twice',
      'schedulers[2]',
    ],
    [
      'an agent',
      { ...validFile, agents: [...validFile.agents, { user: 'agent-1', nodeIds: ['trn2-9'] }] },
      'agent "agent-1" is listed twice',
      'agents[2].user',
    ],
    [
      'a client',
      { ...validFile, clients: [...validFile.clients, { user: 'alice', tenant: 'other' }] },
      'client "alice" is listed twice',
      'clients[2].user',
    ],
    ['an operator', { ...validFile, operators: ['ops', 'ops'] }, 'operator "ops" is listed twice', 'operators[1]'],
    [
      'a node id under two agents',
      { ...validFile, agents: [...validFile.agents, { user: 'agent-2', nodeIds: ['trn2-5', 'trn2-1'] }] },
      'node id "trn2-1" is listed under agents "agent-1" and "agent-2"',
      'agents[2].nodeIds[1]',
    ],
    [
      'a node id twice under one agent',
      { ...validFile, agents: [{ user: 'agent-1', nodeIds: ['trn2-0', 'trn2-0'] }] },
      'node id "trn2-0" is listed twice under agent "agent-1"',
      'agents[0].nodeIds[1]',
    ],
  ])('refuses %s listed twice, naming the file, the value and where', (_, file, problem, path) => {
    const error = parseError(file);
    expect(error.message.startsWith(`${SOURCE}: `)).toBe(true);
    expect(error.message).toContain(problem);
    expect(error.message).toContain(path);
  });

  it('reports every duplicate at once', () => {
    const error = parseError({ ...validFile, schedulers: ['s', 's'], operators: ['o', 'o'] });
    expect(error.message).toContain('scheduler "s" is listed twice');
    expect(error.message).toContain('operator "o" is listed twice');
  });

  it(`takes "${ANY_NODE}" for the node ids of an agent pool, alongside agents that list theirs`, () => {
    const identities = parseNatsIdentities(
      JSON.stringify({
        schedulers: ['s'],
        agents: [
          { user: 'pool', nodeIds: ANY_NODE },
          { user: 'a', nodeIds: ['n1'] },
        ],
        clients: [],
      }),
    );
    expect(identities[1]).toEqual({ role: 'agent', user: 'pool', nodeIds: ANY_NODE });
  });

  it.each([
    ['an empty list of node ids', { user: 'a', nodeIds: [] }, 'agents[0].nodeIds', '>=1'],
    ['another string for node ids', { user: 'a', nodeIds: 'all' }, 'agents[0].nodeIds', `"${ANY_NODE}"`],
    ['a node id that is not a subject token', { user: 'a', nodeIds: ['trn2.0'] }, 'agents[0].nodeIds[0]', 'pattern'],
    ['a user that is not a subject token', { user: 'a>', nodeIds: ['n1'] }, 'agents[0].user', 'pattern'],
    ['an unknown field', { user: 'a', nodeIds: ['n1'], tenant: 'acme' }, 'agents[0]', '"tenant"'],
  ])('refuses an agent with %s, naming the file and the field', (_, agent, path, problem) => {
    const error = parseError({ schedulers: ['s'], agents: [agent], clients: [] });
    expect(error.message.startsWith(`${SOURCE}: `)).toBe(true);
    expect(error.message).toContain(`at ${path}`);
    expect(error.message).toContain(problem);
  });

  it.each([
    ['no scheduler', { schedulers: [], agents: [], clients: [] }, 'schedulers'],
    ['a missing list', { schedulers: ['s'], agents: [] }, 'clients'],
    ['an unknown top-level field', { schedulers: ['s'], agents: [], clients: [], observers: ['o'] }, 'observers'],
    ['a client without a tenant', { schedulers: ['s'], agents: [], clients: [{ user: 'c' }] }, 'clients[0].tenant'],
    [
      'a tenant with a space',
      { schedulers: ['s'], agents: [], clients: [{ user: 'c', tenant: 'a b' }] },
      'clients[0].tenant',
    ],
  ])('refuses %s, naming the file and the field', (_, file, field) => {
    const error = parseError(file);
    expect(error.message.startsWith(`${SOURCE}: `)).toBe(true);
    expect(error.message).toContain(field);
  });

  it('refuses text that is not JSON, naming the file', () => {
    expect(() => parseNatsIdentities('{"schedulers": [', SOURCE)).toThrow(
      new RegExp(`^${SOURCE.replaceAll('/', '\\/').replaceAll('.', '\\.')}: not valid JSON`),
    );
  });
});

const identities: NatsIdentity[] = [
  { role: 'scheduler', user: 'sched-a' },
  { role: 'agent', user: 'agent-1', nodeIds: ['trn2-0'] },
  { role: 'agent', user: 'pool', nodeIds: ANY_NODE },
  { role: 'client', user: 'alice', tenant: 'acme' },
  { role: 'operator', user: 'ops' },
];
/** Permission bits of a file or directory. */
function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}

/** Each name in `dir` with its permission bits. */
function modesIn(dir: string): Record<string, number> {
  return Object.fromEntries(readdirSync(dir).map((name) => [name, modeOf(join(dir, name))]));
}

const fileStems = ['scheduler-sched-a', 'agent-agent-1', 'agent-pool', 'client-alice', 'operator-ops'];

describe('writeNatsAuthFiles', () => {
  let root: string;
  let dir: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'sy-nats-auth-'));
    dir = join(root, 'nats-auth');
  });

  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('writes a seed and env file per identity and auth.conf, and nothing else', () => {
    const files = writeNatsAuthFiles(identities, dir);
    expect(files.configFile).toBe(join(dir, 'auth.conf'));
    expect(readdirSync(dir).sort()).toEqual(
      ['auth.conf', ...fileStems.flatMap((stem) => [`${stem}.env`, `${stem}.nk`])].sort(),
    );
  });

  it('makes the directory 0700 and every file 0600', () => {
    writeNatsAuthFiles(identities, dir);
    expect(modeOf(dir)).toBe(0o700);
    const modes = modesIn(dir);
    expect(Object.keys(modes)).toHaveLength(1 + 2 * identities.length);
    expect(modes).toEqual(Object.fromEntries(Object.keys(modes).map((name) => [name, 0o600])));
  });

  it('makes files that were already there, readable by all, private', () => {
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const existing = ['auth.conf', 'scheduler-sched-a.nk', 'scheduler-sched-a.env', 'client-alice.nk'];
    for (const name of existing) {
      writeFileSync(join(dir, name), 'old');
      chmodSync(join(dir, name), 0o644);
    }
    writeNatsAuthFiles(identities, dir);
    expect(modeOf(dir)).toBe(0o700);
    expect(existing.map((name) => [name, modeOf(join(dir, name))])).toEqual(existing.map((name) => [name, 0o600]));
    expect(existing.filter((name) => readFileSync(join(dir, name), 'utf8') === 'old')).toEqual([]);
  });

  it('replaces a link where a file goes, leaving what it pointed to alone', () => {
    mkdirSync(dir, { mode: 0o700 });
    const elsewhere = join(root, 'elsewhere.conf');
    writeFileSync(elsewhere, 'not yours');
    symlinkSync(elsewhere, join(dir, 'auth.conf'));
    writeNatsAuthFiles(identities, dir);
    expect(readFileSync(elsewhere, 'utf8')).toBe('not yours');
    expect(lstatSync(join(dir, 'auth.conf')).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(dir, 'auth.conf'), 'utf8')).toContain('authorization');
  });

  it('gives each identity an env file naming its seed and its inbox prefix', () => {
    const files = writeNatsAuthFiles(identities, dir);
    identities.forEach((identity, i) => {
      const stem = fileStems[i] ?? '';
      const expected = {
        SWITCHYARD_NATS_NKEY: join(dir, `${stem}.nk`),
        SWITCHYARD_NATS_INBOX_PREFIX: inboxPrefixOf(identity),
      };
      expect(files.env.get(identityKey(identity))).toEqual(expected);
      expect(readFileSync(join(dir, `${stem}.env`), 'utf8')).toBe(
        `SWITCHYARD_NATS_NKEY=${expected.SWITCHYARD_NATS_NKEY}\nSWITCHYARD_NATS_INBOX_PREFIX=${expected.SWITCHYARD_NATS_INBOX_PREFIX}\n`,
      );
    });
    expect(files.env.size).toBe(identities.length);
  });

  it('writes a distinct nkey user seed per identity, whose public key auth.conf lists', () => {
    const files = writeNatsAuthFiles(identities, dir);
    const config = readFileSync(files.configFile, 'utf8');
    const publicKeys = fileStems.map((stem) => {
      const seed = readFileSync(join(dir, `${stem}.nk`));
      expect(seed.subarray(0, 2).toString()).toBe('SU');
      const publicKey = nkeys.fromSeed(new Uint8Array(seed)).getPublicKey();
      expect(publicKey).toMatch(/^U[A-Z2-7]{55}$/);
      expect(config).toContain(`nkey: "${publicKey}"`);
      return publicKey;
    });
    expect(new Set(publicKeys).size).toBe(identities.length);
    expect(config.match(/nkey: /g)).toHaveLength(identities.length);
  });

  it('puts new seeds in place of old ones when run again', () => {
    writeNatsAuthFiles(identities, dir);
    const before = readFileSync(join(dir, 'operator-ops.nk'), 'utf8');
    writeNatsAuthFiles(identities, dir);
    expect(readFileSync(join(dir, 'operator-ops.nk'), 'utf8')).not.toBe(before);
    expect(readdirSync(dir)).toHaveLength(1 + 2 * identities.length);
  });

  it('adds the tls block it is given', () => {
    const files = writeNatsAuthFiles(identities, dir, { certFile: '/tls/server.pem', keyFile: '/tls/server.key' });
    expect(readFileSync(files.configFile, 'utf8')).toContain('cert_file: "/tls/server.pem"');
  });

  it('writes nothing for an identity that cannot be expressed', () => {
    const bad: NatsIdentity[] = [...identities, { role: 'client', user: '../../escape', tenant: 'acme' }];
    expect(() => writeNatsAuthFiles(bad, dir)).toThrow(NatsIdentityError);
    expect(existsSync(dir)).toBe(false);
    expect(readdirSync(root)).toEqual([]);
  });
});
