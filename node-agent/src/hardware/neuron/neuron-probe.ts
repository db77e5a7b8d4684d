/**
 * Reads AWS Trainium and Inferentia devices through the Neuron tools. neuron-monitor runs for the
 * probe's lifetime and streams one JSON report per period (it has no one-shot mode, and starting it
 * per read would cost a period each time); a read takes the latest report, the device list from
 * neuron-ls (run once, then cached: devices do not come and go while the driver is loaded) and each
 * device's power from the driver's sysfs.
 *
 * Neuron devices have no power-limit knob: a reading gives no limit range, and as the limit the
 * maximum power we assume for the device (see neuron-power.ts), the most it can draw.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceReading, HardwareProbe, HardwareReading } from '../probe.js';
import { ProbeError } from '../probe.js';
import { type NeuronReport, parseNeuronMonitorLine } from './neuron-monitor-report.js';
import { type NeuronLsDevice, runNeuronLs } from './neuron-ls.js';
import {
  DEFAULT_NEURON_SYSFS_ROOT,
  assumedNeuronDeviceMaxWatts,
  neuronPowerDrawWatts,
  readNeuronPowerUtilization,
} from './neuron-power.js';

export interface NeuronMonitorProbeOptions {
  /** neuron-monitor executable; default `neuron-monitor` on PATH. */
  readonly monitorBinary?: string;
  /** neuron-ls executable; default `neuron-ls` on PATH. */
  readonly lsBinary?: string;
  /** Root of the driver's per-device sysfs directories. */
  readonly sysfsRoot?: string;
  /** neuron-monitor's report period; default 5 s, the tool's own default. */
  readonly periodSeconds?: number;
  /** Longest a read waits for a report or for neuron-ls; default max(10 s, 3 periods). Must exceed one period. */
  readonly timeoutMs?: number;
  /** Wall clock in ms; default Date.now. */
  readonly clock?: () => number;
  /** Extra environment for the spawned tools. */
  readonly env?: Readonly<Record<string, string>>;
}

/** One neuron-monitor process and what it has said. */
interface MonitorRun {
  readonly child: ChildProcess;
  latest: { readonly report: NeuronReport; readonly receivedAtMs: number } | undefined;
  readonly waiters: Set<{ resolve(report: NeuronReport): void; reject(error: ProbeError): void }>;
  partialLine: string;
  stderrTail: string;
}

/** A partial line longer than this is not a report we can use; dropped and counted. */
const MAX_LINE_CHARS = 16 * 1024 * 1024;
const KILL_GRACE_MS = 2_000;

/** The neuron-monitor configuration the probe runs with: the two per-application groups it reads. */
export function neuronMonitorConfig(periodSeconds: number): object {
  return {
    period: `${periodSeconds}s`,
    neuron_runtimes: [{ tag_filter: '.*', metrics: [{ type: 'neuroncore_counters' }, { type: 'memory_used' }] }],
  };
}

/** Product name for a `neuron_device_type`: `trainium2` → `Trainium2`. */
export function neuronDeviceName(deviceType: string | undefined): string {
  return deviceType === undefined ? 'AWS Neuron device' : deviceType.charAt(0).toUpperCase() + deviceType.slice(1);
}

export class NeuronMonitorProbe implements HardwareProbe {
  readonly kind = 'neuron' as const;
  private readonly monitorBinary: string;
  private readonly lsBinary: string;
  private readonly sysfsRoot: string;
  private readonly periodSeconds: number;
  private readonly timeoutMs: number;
  private readonly clock: () => number;
  private readonly env: Readonly<Record<string, string>>;
  private run: MonitorRun | undefined;
  private starting: Promise<MonitorRun> | undefined;
  /** An exit no pending read has reported yet; the next read reports it, the one after restarts. */
  private unreportedExit: ProbeError | undefined;
  private devices: readonly NeuronLsDevice[] | undefined;
  private configDir: string | undefined;
  private closed = false;
  private unreadableLines = 0;

  constructor(options: NeuronMonitorProbeOptions = {}) {
    this.monitorBinary = options.monitorBinary ?? 'neuron-monitor';
    this.lsBinary = options.lsBinary ?? 'neuron-ls';
    this.sysfsRoot = options.sysfsRoot ?? DEFAULT_NEURON_SYSFS_ROOT;
    this.periodSeconds = options.periodSeconds ?? 5;
    this.timeoutMs = options.timeoutMs ?? Math.max(10_000, 3_000 * this.periodSeconds);
    this.clock = options.clock ?? Date.now;
    this.env = options.env ?? {};
    if (!(this.periodSeconds > 0)) throw new RangeError(`periodSeconds must be positive, got ${this.periodSeconds}`);
    if (!(this.timeoutMs > this.periodSeconds * 1000)) {
      throw new RangeError(`timeoutMs (${this.timeoutMs}) must exceed one report period (${this.periodSeconds} s)`);
    }
  }

  /** True when neuron-ls runs and lists at least one device. Never rejects. */
  static async detect(
    lsBinary = 'neuron-ls',
    options: { readonly timeoutMs?: number; readonly env?: Readonly<Record<string, string>> } = {},
  ): Promise<boolean> {
    try {
      const devices = await runNeuronLs(lsBinary, { timeoutMs: options.timeoutMs ?? 10_000, env: options.env });
      return devices.length > 0;
    } catch {
      return false;
    }
  }

  /** Lines of monitor output that were not reports (garbage, truncated JSON, other documents). */
  get unreadableLineCount(): number {
    return this.unreadableLines;
  }

  /** The running monitor's pid, for diagnostics. */
  get monitorPid(): number | undefined {
    return this.run?.child.pid;
  }

  async read(): Promise<HardwareReading> {
    if (this.closed) throw new ProbeError('PROBE_FAILED', 'the Neuron probe is closed');
    const exit = this.unreportedExit;
    if (exit !== undefined) {
      this.unreportedExit = undefined;
      throw exit;
    }
    const run = this.run ?? (await (this.starting ??= this.start().finally(() => (this.starting = undefined))));
    const [report, devices] = await Promise.all([this.nextReport(run), this.listDevices()]);
    const maxWatts = assumedNeuronDeviceMaxWatts(report.hardware?.deviceType);
    const name = neuronDeviceName(report.hardware?.deviceType);
    const power = await Promise.all(devices.map((d) => readNeuronPowerUtilization(this.sysfsRoot, d.index)));
    const readAtMs = this.clock();
    return {
      kind: 'neuron',
      readAtMs,
      devices: devices.map((device, position): DeviceReading => {
        const usage = report.devices[device.index];
        return {
          index: device.index,
          id: `neuron${device.index}`,
          name,
          memoryTotalBytes: device.memoryBytes ?? report.hardware?.deviceMemoryBytes,
          memoryUsedBytes: usage?.memoryUsedBytes,
          utilization: usage?.utilization,
          powerDrawWatts: neuronPowerDrawWatts(power[position], maxWatts, readAtMs),
          powerLimitWatts: maxWatts,
          powerLimitRangeWatts: undefined,
          temperatureC: undefined,
        };
      }),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.starting?.catch(() => undefined);
    const run = this.run;
    this.run = undefined;
    if (run !== undefined) {
      const closing = new ProbeError('PROBE_FAILED', 'the Neuron probe was closed during a read');
      for (const waiter of run.waiters) waiter.reject(closing);
      run.waiters.clear();
      await stopProcess(run.child);
    }
    if (this.configDir !== undefined) await rm(this.configDir, { recursive: true, force: true });
    this.configDir = undefined;
  }

  private async start(): Promise<MonitorRun> {
    const configPath = await this.writeConfig();
    const child = spawn(this.monitorBinary, ['-c', configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...this.env },
    });
    const run: MonitorRun = { child, latest: undefined, waiters: new Set(), partialLine: '', stderrTail: '' };
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.onStdout(run, chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      run.stderrTail = (run.stderrTail + chunk).slice(-2_000);
    });
    // A later 'error' (a failed kill) must not go unhandled; the exit, if any, is what reads report.
    child.on('error', (err) => {
      run.stderrTail = `${run.stderrTail}\n${err.message}`.slice(-2_000);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw code === 'ENOENT' || code === 'EACCES'
        ? new ProbeError('PROBE_UNAVAILABLE', `${this.monitorBinary} cannot be run (${code})`, { cause: err })
        : new ProbeError('PROBE_FAILED', `${this.monitorBinary} did not start: ${String(err)}`, { cause: err });
    }
    if (this.closed) {
      await stopProcess(child);
      throw new ProbeError('PROBE_FAILED', 'the Neuron probe was closed while neuron-monitor started');
    }
    child.once('exit', (code, signal) => this.onExit(run, code, signal));
    this.run = run;
    return run;
  }

  /** Writes the monitor's config file once per probe; a failure is the probe's, not the tool's. */
  private async writeConfig(): Promise<string> {
    try {
      this.configDir ??= await mkdtemp(join(tmpdir(), 'switchyard-neuron-monitor-'));
      const configPath = join(this.configDir, 'monitor.json');
      await writeFile(configPath, JSON.stringify(neuronMonitorConfig(this.periodSeconds)));
      return configPath;
    } catch (err) {
      throw new ProbeError('PROBE_FAILED', `cannot write the neuron-monitor config: ${String(err)}`, { cause: err });
    }
  }

  private onStdout(run: MonitorRun, chunk: string): void {
    const lines = (run.partialLine + chunk).split('\n');
    run.partialLine = lines.pop() ?? '';
    if (run.partialLine.length > MAX_LINE_CHARS) {
      run.partialLine = '';
      this.unreadableLines++;
    }
    for (const line of lines) {
      if (line.trim() === '') continue;
      let report: NeuronReport;
      try {
        report = parseNeuronMonitorLine(line);
      } catch {
        this.unreadableLines++;
        continue;
      }
      run.latest = { report, receivedAtMs: this.clock() };
      for (const waiter of run.waiters) waiter.resolve(report);
      run.waiters.clear();
    }
  }

  private onExit(run: MonitorRun, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.run !== run) return; // closed on purpose
    this.run = undefined;
    const stderr = run.stderrTail.trim().split('\n').at(-1)?.slice(0, 300);
    const error = new ProbeError(
      'PROBE_FAILED',
      `${this.monitorBinary} exited (${code === null ? `signal ${signal ?? 'unknown'}` : `code ${code}`})` +
        (stderr ? `: ${stderr}` : ''),
    );
    if (run.waiters.size === 0) this.unreportedExit = error;
    for (const waiter of run.waiters) waiter.reject(error);
    run.waiters.clear();
  }

  /** The latest report if it is younger than the timeout, else the next one within the timeout. */
  private nextReport(run: MonitorRun): Promise<NeuronReport> {
    if (run.latest !== undefined && this.clock() - run.latest.receivedAtMs < this.timeoutMs) {
      return Promise.resolve(run.latest.report);
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve(report: NeuronReport) {
          clearTimeout(timer);
          resolve(report);
        },
        reject(error: ProbeError) {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        run.waiters.delete(waiter);
        reject(new ProbeError('PROBE_TIMEOUT', `${this.monitorBinary} sent no report within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      run.waiters.add(waiter);
    });
  }

  private async listDevices(): Promise<readonly NeuronLsDevice[]> {
    this.devices ??= await runNeuronLs(this.lsBinary, { timeoutMs: this.timeoutMs, env: this.env });
    return this.devices;
  }
}

/** SIGTERM, then SIGKILL if the process outlives the grace period; resolves once it has exited. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  let graceTimer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<'grace over'>((resolve) => {
    graceTimer = setTimeout(() => resolve('grace over'), KILL_GRACE_MS);
  });
  if ((await Promise.race([exited, graceOver])) === 'grace over') {
    child.kill('SIGKILL');
    await exited;
  }
  clearTimeout(graceTimer);
}
