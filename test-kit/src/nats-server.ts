import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
import { connect as netConnect } from 'node:net';

/** Thrown when no nats-server binary can be found or it fails to start. */
export class NatsServerError extends Error {
  override readonly name = 'NatsServerError';
}

/** Where Debian puts nats-server (/usr/sbin is not on every user's PATH) plus PATH itself. */
export function findNatsServerBinary(explicit?: string): string {
  if (explicit !== undefined) {
    if (!existsSync(explicit)) throw new NatsServerError(`nats-server binary not found at ${explicit}`);
    return explicit;
  }
  const dirs = [
    ...(process.env['PATH'] ?? '').split(delimiter),
    '/usr/sbin',
    '/usr/local/sbin',
    '/usr/local/bin',
    '/usr/bin',
  ];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, 'nats-server');
    if (existsSync(candidate)) return candidate;
  }
  throw new NatsServerError(
    'nats-server not found on PATH or in /usr/sbin: install it (Debian: apt-get install -y nats-server) or pass --nats-url',
  );
}

export interface NatsServerOptions {
  /** Enable JetStream with a private store directory (default true). */
  jetstream?: boolean;
  /** Port to listen on; default: a free port chosen by the server. */
  port?: number;
  binary?: string;
  /** Extra command-line arguments (e.g. `-c config`). */
  args?: readonly string[];
  /**
   * A configuration file to include (e.g. a generated authorization). The server then runs from a
   * `switchyard-server.conf` written beside it that also names the server and JetStream's store,
   * because a reload re-reads only the file: settings given as flags would be lost (nats-server
   * 2.9 refuses a reload that drops the name, and shuts JetStream down when `-js` is not in it).
   */
  include?: string;
  /** Store directory to reuse (e.g. across a restart); default: a new temp dir removed on stop. */
  storeDir?: string;
  startTimeoutMs?: number;
}

/** A real nats-server child process on loopback. Dispose it (or call stop) to kill it and remove its store. */
export class NatsServerProcess implements AsyncDisposable {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private logTail = '';
  /** Configuration reloads the server has confirmed since it started (or restarted). */
  private reloads = 0;
  private readonly reloadWaiters = new Set<{
    after: number;
    resolve: () => void;
    reject: (err: Error) => void;
  }>();

  private constructor(
    private readonly binary: string,
    private readonly options: NatsServerOptions,
    readonly storeDir: string,
    private readonly ownsStoreDir: boolean,
    public port: number,
  ) {}

  /** Starts a server and resolves once it accepts client connections. */
  static async start(options: NatsServerOptions = {}): Promise<NatsServerProcess> {
    const binary = findNatsServerBinary(options.binary);
    const ownsStoreDir = options.storeDir === undefined;
    const storeDir = options.storeDir ?? (await mkdtemp(join(tmpdir(), 'switchyard-nats-')));
    const server = new NatsServerProcess(binary, options, storeDir, ownsStoreDir, options.port ?? -1);
    await server.launch();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Whether the process is running. */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  private async launch(): Promise<void> {
    const name = `switchyard-test-${process.pid}`;
    const jetstream = this.options.jetstream ?? true;
    const args = ['-a', '127.0.0.1', '-p', String(this.port)];
    if (this.options.include === undefined) {
      args.push('-n', name);
      if (jetstream) args.push('-js', '-sd', this.storeDir);
    } else {
      const serverConfig = join(dirname(this.options.include), 'switchyard-server.conf');
      writeFileSync(
        serverConfig,
        [
          `server_name: ${JSON.stringify(name)}`,
          ...(jetstream ? [`jetstream: { store_dir: ${JSON.stringify(this.storeDir)} }`] : []),
          `include ${JSON.stringify(basename(this.options.include))}`,
          '',
        ].join('\n'),
      );
      args.push('-c', serverConfig);
    }
    args.push(...(this.options.args ?? []));
    const child = spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const timeoutMs = this.options.startTimeoutMs ?? 10_000;
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new NatsServerError(`nats-server did not start within ${timeoutMs} ms:\n${this.logTail}`)),
        timeoutMs,
      );
      // Whole lines only: a line split across two chunks would be missed by a per-chunk match.
      let partialLine = '';
      const onData = (chunk: Buffer): void => {
        const lines = (partialLine + chunk.toString()).split('\n');
        partialLine = lines.pop() ?? '';
        for (const line of lines) this.noteReloads(line);
        this.logTail = (this.logTail + chunk.toString()).slice(-4000);
        const match = /Listening for client connections on [^\s]*:(\d+)/.exec(this.logTail);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new NatsServerError(`nats-server exited (${code ?? signal}) during start:\n${this.logTail}`));
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new NatsServerError(`cannot run ${this.binary}: ${err.message}`));
      });
    });
    this.port = port;
    await waitForPort(port, timeoutMs);
  }

  private noteReloads(text: string): void {
    const failed = /Failed to reload server configuration.*/.exec(text);
    if (failed !== null) {
      for (const waiter of this.reloadWaiters) waiter.reject(new NatsServerError(`nats-server: ${failed[0]}`));
      this.reloadWaiters.clear();
    }
    const confirmed = text.match(/Reloaded server configuration/g)?.length ?? 0;
    if (confirmed === 0) return;
    this.reloads += confirmed;
    for (const waiter of this.reloadWaiters) {
      if (this.reloads > waiter.after) {
        this.reloadWaiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  /**
   * Asks the server to re-read its configuration file (SIGHUP, as `nats-server --signal reload`
   * does) and resolves once it says it has: new authorization users can connect from then on.
   * Reloads run one at a time, so each waits for its own confirmation (two signals close together
   * may be folded into one reload, and an earlier reload may have read the file before a change).
   */
  reload(timeoutMs = 5000): Promise<void> {
    const next = this.reloading.catch(() => undefined).then(() => this.reloadNow(timeoutMs));
    this.reloading = next;
    return next;
  }

  private reloading: Promise<void> = Promise.resolve();

  private async reloadNow(timeoutMs: number): Promise<void> {
    if (!this.running) throw new NatsServerError('nats-server is not running: cannot reload its configuration');
    const reloaded = new Promise<void>((resolve, reject) => {
      const waiter = { after: this.reloads, resolve, reject };
      this.reloadWaiters.add(waiter);
      setTimeout(() => {
        if (!this.reloadWaiters.delete(waiter)) return;
        reject(new NatsServerError(`nats-server did not confirm a reload within ${timeoutMs} ms:\n${this.logTail}`));
      }, timeoutMs).unref();
    });
    this.child?.kill('SIGHUP');
    await reloaded;
  }

  /** Sends a signal (SIGKILL to simulate a crash). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal);
  }

  /** Kills the server and waits for it to exit; keeps the store so that restart() finds JetStream data. */
  async halt(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.running) this.child?.kill(signal);
    await this.exited;
  }

  /** Starts the server again on the same port and store (after halt or a crash). */
  async restart(): Promise<void> {
    await this.halt();
    await this.launch();
  }

  /** Stops the server and removes its store if we created it. */
  async stop(): Promise<void> {
    await this.halt();
    if (this.ownsStoreDir) await rm(this.storeDir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = netConnect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new NatsServerError(`port ${port} did not open within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
