import { readFileSync } from 'node:fs';
import { type ConnectionOptions, credsAuthenticator } from '@nats-io/nats-core';
import { ConfigError } from './config.js';

/**
 * How a process proves who it is to NATS. At most one kind: user and password, a token, or a
 * `.creds` file (a user JWT and its nkey seed, as `nsc` writes them). Values come from flags,
 * environment variables or files mounted from a Kubernetes Secret; none of them is ever logged.
 */
export interface NatsCredentials {
  readonly user?: string;
  readonly password?: string;
  readonly token?: string;
  /** Path of a `.creds` file; read at connect time and again on every reconnect (rotation). */
  readonly credsFile?: string;
}

/** The connection options that carry the credentials. */
export type NatsAuthOptions = Pick<ConnectionOptions, 'user' | 'pass' | 'token' | 'authenticator'>;

const CREDS_MARKERS = ['-----BEGIN NATS USER JWT-----', '-----BEGIN USER NKEY SEED-----'] as const;

/**
 * Turns credentials into connection options. Refuses half-given or mixed credentials, and a creds
 * file that cannot be read or is not one, with a ConfigError that names the setting (never its value).
 */
export function natsAuthOptions(credentials: NatsCredentials = {}): NatsAuthOptions {
  const { user, password, token, credsFile } = credentials;
  const kinds = [user !== undefined || password !== undefined, token !== undefined, credsFile !== undefined];
  if (kinds.filter(Boolean).length > 1) {
    throw new ConfigError('NATS credentials: give one of user and password, a token, or a creds file, not several');
  }
  if ((user === undefined) !== (password === undefined)) {
    throw new ConfigError('NATS credentials: a user needs a password and a password needs a user');
  }
  if (user !== undefined && password !== undefined) return { user, pass: password };
  if (token !== undefined) {
    if (token === '') throw new ConfigError('NATS credentials: the token is empty');
    return { token };
  }
  if (credsFile !== undefined) {
    const read = (): Uint8Array => readCredsFile(credsFile);
    read(); // fail at start-up on a missing or wrong file, not at the first connect
    return { authenticator: credsAuthenticator(read) };
  }
  return {};
}

function readCredsFile(path: string): Uint8Array {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`NATS credentials: cannot read the creds file ${path} (${code})`);
  }
  const text = bytes.toString('utf8');
  if (!CREDS_MARKERS.every((marker) => text.includes(marker))) {
    throw new ConfigError(
      `NATS credentials: ${path} is not a NATS creds file (it needs a user JWT and an nkey seed block)`,
    );
  }
  return new Uint8Array(bytes);
}
