import { type ChildProcess, spawn } from 'node:child_process';

/** Options for a supervised child process. */
export interface ManagedProcessOptions {
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Resolve start() once a line of output matches this. */
  readyPattern?: RegExp;
  startTimeoutMs?: number;
  /** Called with every output line (stdout and stderr). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

/** A child process we start, watch, and kill on purpose (SIGKILL in failure tests). */
export class ManagedProcess implements AsyncDisposable {
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;

  constructor(private readonly options: ManagedProcessOptions) {
    this.child = spawn(options.command, [...options.args], {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
      this.child.once('error', (err) => {
        this.record(`spawn error: ${err.message}`, 'stderr');
        resolve('spawn-error');
      });
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      let buffered = '';
      this.child[stream]?.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          this.record(buffered.slice(0, newline), stream);
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
        }
      });
    }
  }

  private record(line: string, stream: 'stdout' | 'stderr'): void {
    this.lines.push(line);
    if (this.lines.length > 2000) this.lines.splice(0, this.lines.length - 2000);
    this.options.onLine?.(line, stream);
    for (const waiter of this.waiters) {
      if (waiter.pattern.test(line)) {
        this.waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  }

  private readonly waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last output lines (up to 2000), for diagnostics. */
  output(): string {
    return this.lines.join('\n');
  }

  /** Resolves with the first line (already seen or future) matching `pattern`; rejects on timeout or exit. */
  waitForLine(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    const seen = this.lines.find((line) => pattern.test(line));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        pattern,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${pattern} from ${this.options.command}\n${this.output().slice(-3000)}`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
      void this.exited.then((code) => {
        if (!this.waiters.has(waiter)) return;
        this.waiters.delete(waiter);
        clearTimeout(timer);
        reject(
          new Error(
            `${this.options.command} exited (${code}) before printing ${pattern}\n${this.output().slice(-3000)}`,
          ),
        );
      });
    });
  }

  /** Waits for the ready line, if one was configured. */
  async ready(): Promise<void> {
    if (this.options.readyPattern !== undefined) {
      await this.waitForLine(this.options.readyPattern, this.options.startTimeoutMs ?? 15_000);
    }
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running) this.child.kill(signal);
  }

  /** Sends SIGTERM, then SIGKILL after `graceMs`, and waits for the exit. */
  async stop(graceMs = 5000): Promise<number | string> {
    if (!this.running) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
