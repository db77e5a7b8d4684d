import { existsSync, readFileSync } from 'node:fs';
import {
  type ConnectionOptions,
  createInbox,
  credsAuthenticator,
  type NatsConnection,
  nkeyAuthenticator,
} from '@nats-io/nats-core';
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
  /** Path of a file holding an nkey user seed (`SU…`), for servers that list nkey users. */
  readonly nkeySeedFile?: string;
  /**
   * Where this connection's request replies arrive. With least-privilege permissions every identity
   * may read only its own inboxes (see inboxPrefixOf), so this must match what the server grants.
   */
  readonly inboxPrefix?: string;
  /** TLS to the server: verify it with this CA (default: the system's), present this certificate. */
  readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
}

/** The connection options that carry the credentials. */
export type NatsAuthOptions = Pick<
  ConnectionOptions,
  'user' | 'pass' | 'token' | 'authenticator' | 'inboxPrefix' | 'tls'
>;

const CREDS_MARKERS = ['-----BEGIN NATS USER JWT-----', '-----BEGIN USER NKEY SEED-----'] as const;

/**
 * Turns credentials into connection options. Refuses half-given or mixed credentials, and a creds
 * file that cannot be read or is not one, with a ConfigError that names the setting (never its value).
 */
export function natsAuthOptions(credentials: NatsCredentials = {}): NatsAuthOptions {
  const common: NatsAuthOptions = {
    ...(credentials.inboxPrefix === undefined ? {} : { inboxPrefix: checkedInboxPrefix(credentials.inboxPrefix) }),
    ...(credentials.tls === undefined ? {} : { tls: checkedTls(credentials.tls) }),
  };
  return { ...authenticationOptions(credentials), ...common };
}

function authenticationOptions(credentials: NatsCredentials): NatsAuthOptions {
  const { user, password, token, credsFile, nkeySeedFile } = credentials;
  const kinds = [
    user !== undefined || password !== undefined,
    token !== undefined,
    credsFile !== undefined,
    nkeySeedFile !== undefined,
  ];
  if (kinds.filter(Boolean).length > 1) {
    throw new ConfigError(
      'NATS credentials: give one of user and password, a token, a creds file or an nkey seed file, not several',
    );
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
  if (nkeySeedFile !== undefined) {
    const read = (): Uint8Array => readSeedFile(nkeySeedFile);
    read();
    return { authenticator: nkeyAuthenticator(read) };
  }
  return {};
}

function checkedInboxPrefix(prefix: string): string {
  if (!/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/.test(prefix) || prefix.length > 200) {
    throw new ConfigError(`NATS inbox prefix ${JSON.stringify(prefix)} is not a subject without wildcards`);
  }
  return prefix;
}

function checkedTls(tls: NonNullable<NatsCredentials['tls']>): NonNullable<NatsAuthOptions['tls']> {
  for (const [setting, path] of Object.entries(tls)) {
    if (path !== undefined && !existsSync(path)) {
      throw new ConfigError(`NATS TLS: the ${setting} ${path} does not exist`);
    }
  }
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new ConfigError('NATS TLS: a client certificate needs its key, and a key its certificate');
  }
  return {
    ...(tls.caFile === undefined ? {} : { caFile: tls.caFile }),
    ...(tls.certFile === undefined ? {} : { certFile: tls.certFile }),
    ...(tls.keyFile === undefined ? {} : { keyFile: tls.keyFile }),
  };
}

function readSeedFile(path: string): Uint8Array {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`NATS credentials: cannot read the nkey seed file ${path} (${code})`);
  }
  if (!/^SU[A-Z2-7]{56}$/.test(text)) {
    throw new ConfigError(`NATS credentials: ${path} does not hold an nkey user seed (SU…)`);
  }
  return new TextEncoder().encode(text);
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

/**
 * A server URL fit for logs: credentials written into it (`nats://user:secret@host`, or a token as
 * the user part) are replaced, whatever the scheme; several comma-separated URLs each.
 */
export function redactedUrl(urls: string): string {
  return natsServers(urls)
    .map((url) => url.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^@/]*@/i, '$1[redacted]@'))
    .join(',');
}

/** The servers of a comma-separated URL list (`nats://a:4222, nats://b:4222`), for nats.js `servers`. */
export function natsServers(urls: string): string[] {
  return urls
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
}

/**
 * A new inbox under the connection's own inbox prefix (nats.js `inboxPrefix`): with least-privilege
 * permissions an identity may subscribe only there, so an inbox made with plain `createInbox()`
 * (`_INBOX.<nuid>`) would be refused. nats.js keeps its options on the connection, untyped.
 */
export function connectionInbox(nc: NatsConnection): string {
  const options: unknown = Reflect.get(nc, 'options');
  const prefix =
    typeof options === 'object' && options !== null ? (Reflect.get(options, 'inboxPrefix') as unknown) : undefined;
  return createInbox(typeof prefix === 'string' && prefix !== '' ? prefix : undefined);
}
