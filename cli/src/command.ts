import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsAuthOptions, type NatsCredentials, natsServers, redactedUrl } from '@switchyard/protocol';

/** One option of a command: a flag, its environment variable, default and help text. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly description: string;
  /** Environment variable consulted when the flag is absent. */
  readonly env?: string;
  readonly default?: string | boolean;
  readonly short?: string;
}

export type OptionValues = Record<string, string | boolean | undefined>;

/** A `switchyard` subcommand. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Extra usage text (positional arguments, examples). */
  readonly usage?: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Runs the command; resolves with the process exit code. */
  run(values: OptionValues, positionals: readonly string[]): Promise<number>;
}

/** A usage error: printed with the command's help, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  'nats-url': {
    type: 'string',
    env: 'SWITCHYARD_NATS_URL',
    default: 'nats://127.0.0.1:4222',
    description: 'NATS server URL',
  },
  'nats-user': { type: 'string', env: 'SWITCHYARD_NATS_USER', description: 'NATS user (with a password)' },
  'nats-password': {
    type: 'string',
    env: 'SWITCHYARD_NATS_PASSWORD',
    description: 'NATS password (prefer the environment or --nats-password-file to a flag: flags show in ps)',
  },
  'nats-password-file': {
    type: 'string',
    env: 'SWITCHYARD_NATS_PASSWORD_FILE',
    description: 'file holding the NATS password (e.g. mounted from a Kubernetes Secret)',
  },
  'nats-token': { type: 'string', env: 'SWITCHYARD_NATS_TOKEN', description: 'NATS authentication token' },
  'nats-creds': {
    type: 'string',
    env: 'SWITCHYARD_NATS_CREDS',
    description: 'NATS .creds file (user JWT and nkey seed), read again on every reconnect',
  },
  'nats-nkey': {
    type: 'string',
    env: 'SWITCHYARD_NATS_NKEY',
    description: 'file holding an nkey user seed (SU…), for servers that list nkey users',
  },
  'nats-inbox-prefix': {
    type: 'string',
    env: 'SWITCHYARD_NATS_INBOX_PREFIX',
    description:
      'where request replies arrive: the prefix the server lets this identity subscribe to (see nats-config)',
  },
  'nats-tls-ca': {
    type: 'string',
    env: 'SWITCHYARD_NATS_TLS_CA',
    description: 'CA file to verify the NATS server with',
  },
  'nats-tls-cert': {
    type: 'string',
    env: 'SWITCHYARD_NATS_TLS_CERT',
    description: 'client certificate for NATS servers that require one (with --nats-tls-key)',
  },
  'nats-tls-key': { type: 'string', env: 'SWITCHYARD_NATS_TLS_KEY', description: "the client certificate's key" },
  'log-level': {
    type: 'string',
    env: 'SWITCHYARD_LOG_LEVEL',
    default: 'info',
    description: 'log level: trace, debug, info, warn, error',
  },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

/** Parses argv for a command: flags first, then environment variables, then defaults. */
export function parseCommandArgs(
  command: Command,
  argv: readonly string[],
): { values: OptionValues; positionals: string[] } {
  const specs = { ...GLOBAL_OPTIONS, ...command.options };
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = spec.short === undefined ? { type: spec.type } : { type: spec.type, short: spec.short };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const values: OptionValues = {};
  for (const [name, spec] of Object.entries(specs)) {
    const flag = parsed.values[name];
    const fromEnv = spec.env === undefined ? undefined : process.env[spec.env];
    if (flag !== undefined) values[name] = flag;
    else if (fromEnv !== undefined && fromEnv !== '')
      values[name] = spec.type === 'boolean' ? ['1', 'true', 'yes'].includes(fromEnv) : fromEnv;
    else values[name] = spec.default;
  }
  return { values, positionals: parsed.positionals };
}

/** Renders `switchyard <command> --help`. */
export function commandHelp(command: Command): string {
  const specs = { ...command.options, ...GLOBAL_OPTIONS };
  const lines = [`switchyard ${command.name} — ${command.summary}`, ''];
  lines.push(
    `Usage: switchyard ${command.name} [options]${command.usage === undefined ? '' : ` ${command.usage}`}`,
    '',
    'Options:',
  );
  for (const [name, spec] of Object.entries(specs)) {
    const flag = `${spec.short === undefined ? '    ' : `-${spec.short}, `}--${name}${spec.type === 'string' ? ' <value>' : ''}`;
    const extras = [
      spec.env === undefined ? '' : `env ${spec.env}`,
      spec.default === undefined ? '' : `default ${String(spec.default)}`,
    ]
      .filter((x) => x !== '')
      .join('; ');
    lines.push(`  ${flag.padEnd(34)} ${spec.description}${extras === '' ? '' : ` (${extras})`}`);
  }
  return lines.join('\n');
}

/** Reads a string option that must be present. */
export function stringOption(values: OptionValues, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

/** Reads a numeric option within bounds. */
export function numberOption(values: OptionValues, name: string, min: number, max: number): number {
  const raw = stringOption(values, name);
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be a number in ${min}..${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Reads an integer option within bounds. */
export function intOption(values: OptionValues, name: string, min: number, max: number): number {
  const value = numberOption(values, name, min, max);
  if (!Number.isInteger(value)) throw new UsageError(`--${name} must be an integer, got ${value}`);
  return value;
}

/** Resolves on SIGINT or SIGTERM (for long-running commands). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** The NATS credentials the global options give (none by default). */
export function natsCredentialsOf(values: OptionValues): NatsCredentials {
  const text = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const passwordFile = text('nats-password-file');
  if (passwordFile !== undefined && text('nats-password') !== undefined) {
    throw new UsageError('give --nats-password or --nats-password-file, not both');
  }
  let password = text('nats-password');
  if (passwordFile !== undefined) {
    try {
      password = readFileSync(passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new UsageError(
        `--nats-password-file ${passwordFile}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      );
    }
  }
  const user = text('nats-user');
  const token = text('nats-token');
  const credsFile = text('nats-creds');
  const nkeySeedFile = text('nats-nkey');
  const inboxPrefix = text('nats-inbox-prefix');
  const caFile = text('nats-tls-ca');
  const certFile = text('nats-tls-cert');
  const keyFile = text('nats-tls-key');
  const noTls = caFile === undefined && certFile === undefined && keyFile === undefined;
  return {
    ...(user === undefined ? {} : { user }),
    ...(password === undefined ? {} : { password }),
    ...(token === undefined ? {} : { token }),
    ...(credsFile === undefined ? {} : { credsFile }),
    ...(nkeySeedFile === undefined ? {} : { nkeySeedFile }),
    ...(inboxPrefix === undefined ? {} : { inboxPrefix }),
    ...(noTls
      ? {}
      : {
          tls: {
            ...(caFile === undefined ? {} : { caFile }),
            ...(certFile === undefined ? {} : { certFile }),
            ...(keyFile === undefined ? {} : { keyFile }),
          },
        }),
  };
}

/** Connects a short-lived client command to NATS with the global URL and credentials. */
export function connectNats(values: OptionValues): Promise<NatsConnection> {
  return connect({ servers: natsServers(natsUrlOf(values)), ...natsAuthOptions(natsCredentialsOf(values)) });
}

/**
 * The NATS server URL(s). Credentials written into a URL would show in process listings and logs,
 * and the client does not use them: they are refused, without repeating them.
 */
export function natsUrlOf(values: OptionValues): string {
  const urls = stringOption(values, 'nats-url');
  if (redactedUrl(urls) !== urls) {
    throw new UsageError(
      `--nats-url ${redactedUrl(urls)} carries credentials: give them with --nats-user/--nats-password(-file), --nats-token, --nats-nkey or --nats-creds instead`,
    );
  }
  return urls;
}
