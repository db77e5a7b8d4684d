import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  identityKey,
  natsAuthOptions,
  type NatsAuthFiles,
  type NatsIdentity,
  writeNatsAuthFiles,
} from '@switchyard/protocol';
import { NatsServerProcess } from '@switchyard/test-kit';
import { groupNodeIds, groupPrefix, type NodeGroup } from './demo-fleet.js';

/** The demo's clients: one identity per tenant it acts for, and an operator for status, budgets and the audit. */
export const DEMO_CLIENTS = {
  load: { role: 'client', user: 'load', tenant: 'demo' },
  sessions: { role: 'client', user: 'agents', tenant: 'demo-agents' },
  cpu: { role: 'client', user: 'cpu', tenant: 'demo-cpu' },
  trial: { role: 'client', user: 'trial', tenant: 'demo-trial' },
  operator: { role: 'operator', user: 'ops' },
} as const satisfies Record<string, NatsIdentity>;
export type DemoClient = keyof typeof DEMO_CLIENTS;

/**
 * The demo runs with authentication on: an nkey per process and per client, and a nats-server
 * started with the authorization config generated from them, so every scheduler, agent and client
 * is held to its subjects by the server (the same config `switchyard nats-config` writes).
 */
export class DemoAuth {
  private constructor(private readonly files: NatsAuthFiles) {}

  static create(fleet: readonly NodeGroup[], schedulers: readonly string[], dir: string): DemoAuth {
    const identities: NatsIdentity[] = [
      ...schedulers.map((user): NatsIdentity => ({ role: 'scheduler', user })),
      ...fleet.map((group): NatsIdentity => ({
        role: 'agent',
        user: groupPrefix(group),
        nodeIds: groupNodeIds(group),
      })),
      ...Object.values(DEMO_CLIENTS),
    ];
    return new DemoAuth(writeNatsAuthFiles(identities, join(dir, 'nats-auth')));
  }

  /** Starts the demo's nats-server (JetStream on) with the generated authorization, and says so. */
  async startServer(say: (line: string) => void): Promise<NatsServerProcess> {
    const nats = await NatsServerProcess.start({ jetstream: true, args: ['-c', this.configFile] });
    say(`▸ nats-server ${nats.url} (JetStream store ${nats.storeDir})`);
    say(`▸ authentication on: an nkey per process and client, least privilege by subject (${this.configFile})`);
    return nats;
  }

  /** For nats-server: `-c <configFile>`. */
  get configFile(): string {
    return this.files.configFile;
  }

  /** The environment of a scheduler or agent process: its seed file and inbox prefix. */
  envOf(identity: Pick<NatsIdentity, 'role' | 'user'>): Readonly<Record<string, string>> {
    const env = this.files.env.get(identityKey(identity));
    if (env === undefined) throw new RangeError(`the demo has no NATS identity ${identityKey(identity)}`);
    return env;
  }

  agentEnv(group: NodeGroup): Readonly<Record<string, string>> {
    return this.envOf({ role: 'agent', user: groupPrefix(group) });
  }

  /** Connects as one of the demo's clients. */
  connect(natsUrl: string, who: DemoClient): Promise<NatsConnection> {
    const env = this.envOf(DEMO_CLIENTS[who]);
    return connect({
      servers: natsUrl,
      name: `demo-${who}`,
      ...natsAuthOptions({
        ...(env['SWITCHYARD_NATS_NKEY'] === undefined ? {} : { nkeySeedFile: env['SWITCHYARD_NATS_NKEY'] }),
        ...(env['SWITCHYARD_NATS_INBOX_PREFIX'] === undefined
          ? {}
          : { inboxPrefix: env['SWITCHYARD_NATS_INBOX_PREFIX'] }),
      }),
    });
  }
}

/** Connects a demo client: as its identity when the demo's server runs with authentication, else plainly. */
export async function connectDemoClient(
  auth: DemoAuth | undefined,
  natsUrl: string,
  who: DemoClient,
  opened: NatsConnection[],
): Promise<NatsConnection> {
  const nc =
    auth === undefined ? await connect({ servers: natsUrl, name: `demo-${who}` }) : await auth.connect(natsUrl, who);
  opened.push(nc);
  return nc;
}
