/**
 * A progress line for long runs. On a terminal it redraws one line in place (at most every 100 ms,
 * so a fast loop does not spend its time printing); elsewhere (CI logs, pipes) it prints a line when
 * a phase starts and when it ends, so logs stay readable.
 */
export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

const WIDTH = 30;
const REDRAW_MS = 100;

export class ProgressBar {
  private phase: string | undefined;
  private lastDrawMs = 0;
  private phaseStartedMs = 0;

  constructor(
    private readonly stream: ProgressStream,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Reports `fraction` (0..1) of `phase` done. */
  update(phase: string, fraction: number): void {
    const done = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
    const nowMs = this.clock();
    if (phase !== this.phase) {
      this.endPhase(nowMs);
      this.phase = phase;
      this.phaseStartedMs = nowMs;
      if (this.stream.isTTY !== true) this.stream.write(`${phase} …\n`);
    }
    if (this.stream.isTTY !== true) return;
    if (done < 1 && nowMs - this.lastDrawMs < REDRAW_MS) return;
    this.lastDrawMs = nowMs;
    const filled = Math.round(done * WIDTH);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}`;
    this.stream.write(`\r\x1b[2K${bar} ${(100 * done).toFixed(0).padStart(3)}%  ${phase}`);
  }

  /** Ends the current phase's line. */
  finish(): void {
    this.endPhase(this.clock());
    this.phase = undefined;
  }

  private endPhase(nowMs: number): void {
    if (this.phase === undefined) return;
    const seconds = ((nowMs - this.phaseStartedMs) / 1000).toFixed(1);
    if (this.stream.isTTY === true) this.stream.write(`\r\x1b[2K${this.phase}: done in ${seconds} s\n`);
    else this.stream.write(`${this.phase}: done in ${seconds} s\n`);
  }
}
