import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { parseJsonConfig } from '../config.js';
import { SUBJECT_TOKEN_PATTERN } from '../subjects.js';
import { inboxPrefixOf, type NatsIdentity } from './nats-permissions.js';
import { createNkeyUser, natsServerConfig, type NatsServerTls } from './nats-server-config.js';

const Token = z.string().regex(SUBJECT_TOKEN_PATTERN);

/** Who may connect (`switchyard nats-config --identities FILE`). */
export const NatsIdentitiesFile = z.strictObject({
  schedulers: z.array(Token).min(1).max(16).describe('Scheduler users (one per scheduler process).'),
  agents: z
    .array(z.strictObject({ user: Token, nodeIds: z.array(Token).min(1).max(10_000) }))
    .max(100_000)
    .describe('Agent users, each with the node ids its process hosts.'),
  clients: z
    .array(z.strictObject({ user: Token, tenant: Token }))
    .max(100_000)
    .describe('Client users, each acting for one tenant.'),
  operators: z.array(Token).max(1000).default([]).describe('Operator users (the admin subjects).'),
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
 * Writes a fresh nkey seed per identity (mode 0600), its `.env` file, and the server's
 * authorization config, all into `dir`. The seeds are secrets: the directory is made 0700.
 */
export function writeNatsAuthFiles(
  identities: readonly NatsIdentity[],
  dir: string,
  tls?: NatsServerTls,
): NatsAuthFiles {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const env = new Map<string, NatsIdentityEnv>();
  const users = identities.map((identity) => {
    const { publicKey, seed } = createNkeyUser();
    const name = `${identity.role}-${identity.user}`;
    const seedFile = join(dir, `${name}.nk`);
    writeFileSync(seedFile, seed, { mode: 0o600 });
    const vars = { SWITCHYARD_NATS_NKEY: seedFile, SWITCHYARD_NATS_INBOX_PREFIX: inboxPrefixOf(identity) };
    writeFileSync(
      join(dir, `${name}.env`),
      Object.entries(vars)
        .map(([key, value]) => `${key}=${value}\n`)
        .join(''),
      { mode: 0o600 },
    );
    env.set(identityKey(identity), vars);
    return { identity, secret: { kind: 'nkey' as const, publicKey } };
  });
  const configFile = join(dir, 'auth.conf');
  writeFileSync(configFile, natsServerConfig({ users, ...(tls === undefined ? {} : { tls }) }), { mode: 0o600 });
  return { configFile, env };
}
