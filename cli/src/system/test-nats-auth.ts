import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createNkeyUser,
  identityKey,
  inboxPrefixOf,
  type NatsCredentials,
  type NatsIdentity,
  natsServerConfig,
  type NatsUserEntry,
  writePrivateFile,
} from '@switchyard/protocol';

/** The environment variables a Switchyard process reads its NATS identity from. */
export type IdentityEnv = Readonly<Record<'SWITCHYARD_NATS_NKEY' | 'SWITCHYARD_NATS_INBOX_PREFIX', string>>;

interface Enrolled {
  readonly entry: NatsUserEntry;
  readonly credentials: NatsCredentials & { readonly nkeySeedFile: string; readonly inboxPrefix: string };
}

/**
 * The system tests' NATS authorization: every scheduler, agent and client process a test starts
 * connects with its own nkey and is held by the server to its role's subjects (the same config
 * `switchyard nats-config` writes). Identities are enrolled as tests start processes, and the
 * server re-reads the file before the process connects. The test's own connection is the one
 * unrestricted user: it plays attacker, operator and every tenant, and watches any subject.
 */
export class TestNatsAuth {
  private readonly enrolled = new Map<string, Enrolled>();
  private readonly observerKey: string;
  readonly observer: NatsCredentials;
  /** Agent identities by the node ids they host (sorted, joined). */
  private readonly agentsByNodes = new Map<string, NatsIdentity>();

  private constructor(private readonly dir: string) {
    const observer = createNkeyUser();
    this.observerKey = observer.publicKey;
    this.observer = {
      nkeySeedFile: this.writeSeed('observer', observer.seed),
      // Agents answer clients under _INBOX.tenant.> only: the observer's replies must come back there.
      inboxPrefix: '_INBOX.tenant.observer.test',
    };
    this.writeConfig();
  }

  static create(): TestNatsAuth {
    const dir = mkdtempSync(join(tmpdir(), 'sy-test-auth-'));
    chmodSync(dir, 0o700);
    return new TestNatsAuth(dir);
  }

  /** The authorization file, for `NatsServerProcess.start({ include })`. */
  get configFile(): string {
    return join(this.dir, 'auth.conf');
  }

  /**
   * The credentials of `identity`, enrolling it when new. `changed` says the file was rewritten: the
   * server must reload before the identity can connect.
   */
  enrol(identity: NatsIdentity): { credentials: Enrolled['credentials']; changed: boolean } {
    const key = identityKey(identity);
    const known = this.enrolled.get(key);
    if (known !== undefined) return { credentials: known.credentials, changed: false };
    const { publicKey, seed } = createNkeyUser();
    const credentials = {
      nkeySeedFile: this.writeSeed(`${identity.role}-${identity.user}`, seed),
      inboxPrefix: inboxPrefixOf(identity),
    };
    this.enrolled.set(key, { entry: { identity, secret: { kind: 'nkey', publicKey } }, credentials });
    this.writeConfig();
    return { credentials, changed: true };
  }

  /** An agent identity for exactly these nodes (one per agent process or host). */
  enrolAgent(nodeIds: readonly string[]): ReturnType<TestNatsAuth['enrol']> {
    const hosted = [...nodeIds].sort().join(',');
    const known = this.agentsByNodes.get(hosted);
    if (known !== undefined) return this.enrol(known);
    const identity: NatsIdentity = { role: 'agent', user: `agent-${this.agentsByNodes.size + 1}`, nodeIds };
    this.agentsByNodes.set(hosted, identity);
    return this.enrol(identity);
  }

  /** The environment that makes a CLI process connect as `credentials`. */
  static envOf(credentials: Enrolled['credentials']): IdentityEnv {
    return { SWITCHYARD_NATS_NKEY: credentials.nkeySeedFile, SWITCHYARD_NATS_INBOX_PREFIX: credentials.inboxPrefix };
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private writeSeed(name: string, seed: Uint8Array): string {
    const file = join(this.dir, `${name}.nk`);
    writePrivateFile(file, seed);
    return file;
  }

  private writeConfig(): void {
    // Written whole, then renamed (writePrivateFile): a reload never reads half a file.
    writePrivateFile(
      this.configFile,
      natsServerConfig({
        users: [...this.enrolled.values()].map(({ entry }) => entry),
        unrestricted: [{ name: 'test observer', publicKey: this.observerKey }],
      }),
    );
  }
}
