import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { parseJsonConfig } from '../config.js';
import { SUBJECT_TOKEN_PATTERN } from '../subjects.js';
import { ANY_NODE, inboxPrefixOf, type NatsIdentity } from './nats-permissions.js';
import { createNkeyUser, natsServerConfig, type NatsServerTls } from './nats-server-config.js';

const Token = z.string().regex(SUBJECT_TOKEN_PATTERN);

/** Issues for every value that appears a second time in `values`, at the path `pathOf` gives it. */
function addDuplicateIssues(
  ctx: z.RefinementCtx,
  values: readonly string[],
  what: string,
  pathOf: (index: number) => (string | number)[],
): void {
  const seen = new Set<string>();
  values.forEach((value, index) => {
    if (seen.has(value)) {
      ctx.addIssue({
        code: 'custom',
        path: pathOf(index),
        message: `${what} ${JSON.stringify(value)} is listed twice`,
      });
    }
    seen.add(value);
  });
}

/** Who may connect (`switchyard nats-config --identities FILE`). */
export const NatsIdentitiesFile = z
  .strictObject({
    schedulers: z.array(Token).min(1).max(16).describe('Scheduler users (one per scheduler process).'),
    agents: z
      .array(
        z.strictObject({
          user: Token,
          nodeIds: z
            .union([z.array(Token).min(1).max(10_000), z.literal(ANY_NODE)], {
              error: `expected a list of node ids, or "${ANY_NODE}" for a pool`,
            })
            .describe(`The node ids the agent hosts, or "${ANY_NODE}" for a pool whose nodes are not known ahead.`),
        }),
      )
      .max(100_000)
      .describe('Agent users, each with the node ids its process hosts.'),
    clients: z
      .array(z.strictObject({ user: Token, tenant: Token }))
      .max(100_000)
      .describe('Client users, each acting for one tenant.'),
    operators: z.array(Token).max(1000).default([]).describe('Operator users (the admin subjects).'),
  })
  .superRefine((file, ctx) => {
    // Two entries for one user would get two seeds and two server entries that nats-server cannot
    // tell apart; a node id under two agents would let either speak for that node.
    addDuplicateIssues(ctx, file.schedulers, 'scheduler', (i) => ['schedulers', i]);
    addDuplicateIssues(
      ctx,
      file.agents.map((agent) => agent.user),
      'agent',
      (i) => ['agents', i, 'user'],
    );
    addDuplicateIssues(
      ctx,
      file.clients.map((client) => client.user),
      'client',
      (i) => ['clients', i, 'user'],
    );
    addDuplicateIssues(ctx, file.operators, 'operator', (i) => ['operators', i]);
    const hostOf = new Map<string, string>();
    file.agents.forEach(({ user, nodeIds }, agentIndex) => {
      if (nodeIds === ANY_NODE) return;
      nodeIds.forEach((nodeId, nodeIndex) => {
        const host = hostOf.get(nodeId);
        if (host !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['agents', agentIndex, 'nodeIds', nodeIndex],
            message:
              host === user
                ? `node id ${JSON.stringify(nodeId)} is listed twice under agent ${JSON.stringify(user)}`
                : `node id ${JSON.stringify(nodeId)} is listed under agents ${JSON.stringify(host)} and ${JSON.stringify(user)}`,
          });
        }
        hostOf.set(nodeId, user);
      });
    });
  });
export type NatsIdentitiesFile = z.infer<typeof NatsIdentitiesFile>;

/** Parses an identities file; throws ConfigError naming the file and every problem. */
export function parseNatsIdentities(text: string, source = 'identities'): NatsIdentity[] {
  const { schedulers, agents, clients, operators } = parseJsonConfig(NatsIdentitiesFile, text, source);
  return [
    ...schedulers.map((user): NatsIdentity => ({ role: 'scheduler', user })),
    ...agents.map(({ user, nodeIds }): NatsIdentity => ({ role: 'agent', user, nodeIds })),
    ...clients.map(({ user, tenant }): NatsIdentity => ({ role: 'client', user, tenant })),
    ...operators.map((user): NatsIdentity => ({ role: 'operator', user })),
  ];
}

/** The environment a process of one identity runs with (the seed stays in its file). */
export type NatsIdentityEnv = Readonly<Record<string, string>>;

export interface NatsAuthFiles {
  /** The authorization block, to `include` from the server's configuration (or pass as `-c`). */
  readonly configFile: string;
  /** Per identity (`<role>:<user>`): SWITCHYARD_NATS_NKEY and SWITCHYARD_NATS_INBOX_PREFIX. */
  readonly env: ReadonlyMap<string, NatsIdentityEnv>;
}

/** The key of an identity in NatsAuthFiles.env. */
export function identityKey(identity: Pick<NatsIdentity, 'role' | 'user'>): string {
  return `${identity.role}:${identity.user}`;
}

/**
 * Writes `data` to `path` readable by its owner only, whether or not `path` exists: a fresh file is
 * created 0600 beside it and renamed over it, so the content is never readable under an older
 * file's mode (writeFileSync's `mode` applies only when it creates the file) and a link at `path`
 * is replaced, not followed.
 */
export function writePrivateFile(path: string, data: string | Uint8Array): void {
  const fresh = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(fresh, data, { mode: 0o600, flag: 'wx' });
    renameSync(fresh, path);
  } catch (err) {
    rmSync(fresh, { force: true });
    throw err;
  }
}

/**
 * Writes a fresh nkey seed per identity, its `.env` file, and the server's authorization config, all
 * into `dir`, replacing files of the same names. The seeds are secrets: the directory is made 0700
 * and every file 0600, including files that were already there. Identities are checked (tokens,
 * duplicates) before anything is written.
 */
export function writeNatsAuthFiles(
  identities: readonly NatsIdentity[],
  dir: string,
  tls?: NatsServerTls,
): NatsAuthFiles {
  const keyed = identities.map((identity) => ({ identity, ...createNkeyUser() }));
  const config = natsServerConfig({
    users: keyed.map(({ identity, publicKey }) => ({ identity, secret: { kind: 'nkey', publicKey } })),
    ...(tls === undefined ? {} : { tls }),
  });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const env = new Map<string, NatsIdentityEnv>();
  for (const { identity, seed } of keyed) {
    // The user is a subject token (natsServerConfig checked it), so the name stays inside `dir`.
    const name = `${identity.role}-${identity.user}`;
    const seedFile = join(dir, `${name}.nk`);
    writePrivateFile(seedFile, seed);
    const vars = { SWITCHYARD_NATS_NKEY: seedFile, SWITCHYARD_NATS_INBOX_PREFIX: inboxPrefixOf(identity) };
    writePrivateFile(
      join(dir, `${name}.env`),
      Object.entries(vars)
        .map(([key, value]) => `${key}=${value}\n`)
        .join(''),
    );
    env.set(identityKey(identity), vars);
  }
  const configFile = join(dir, 'auth.conf');
  writePrivateFile(configFile, config);
  return { configFile, env };
}
