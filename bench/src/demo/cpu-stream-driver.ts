/**
 * The demo's real-token traffic: a client streaming short prompts, one after another, to the CPU
 * node's tiny llama (through the scheduler, text straight from the node). The text is nonsense —
 * random weights — but every token was computed by llama.cpp on this machine.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { NoRespondersError, RemoteError, streamInfer } from '@switchyard/protocol';
import { percentile, sortedCopy } from '../report/percentiles.js';

const PROMPTS = ['Tell me about the switchyard.', 'What does the signal say?', 'Which train leaves next?'];

export interface CpuStreamOutcome {
  readonly code: string;
  readonly clientTtftMs?: number;
  readonly outputTokens?: number;
  readonly totalMs?: number;
}

export class CpuStreamDriver {
  readonly outcomes: CpuStreamOutcome[] = [];
  /** The text of the first answer, for the demo to show. */
  firstText: string | undefined;
  private running = true;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly model: string,
    private readonly maxOutputTokens = 48,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** One line for the summary. */
  summary(): string {
    const ok = this.outcomes.filter((o) => o.code === 'ok');
    if (this.outcomes.length === 0) return 'CPU node (llama.cpp): no streamed request finished';
    const ttft = sortedCopy(ok.map((o) => o.clientTtftMs ?? 0));
    const tokens = ok.reduce((sum, o) => sum + (o.outputTokens ?? 0), 0);
    const seconds = ok.reduce((sum, o) => sum + (o.totalMs ?? 0), 0) / 1000;
    const failed = this.outcomes.length - ok.length;
    return (
      `CPU node (llama.cpp, ${this.model}): ${ok.length} streamed requests, ${tokens} real tokens` +
      (ok.length === 0
        ? ''
        : `, client TTFT p50 ${Math.round(percentile(ttft, 50))} ms, ${(tokens / Math.max(seconds, 1e-3)).toFixed(0)} tokens/s per request`) +
      (failed === 0
        ? ''
        : `; ${failed} failed (${[...new Set(this.outcomes.filter((o) => o.code !== 'ok').map((o) => o.code))].join(', ')})`)
    );
  }

  private async run(): Promise<void> {
    for (let i = 0; this.running; i++) {
      const started = performance.now();
      let firstAt: number | undefined;
      const pieces: string[] = [];
      try {
        const result = await streamInfer(
          this.nc,
          {
            model: this.model,
            inputTokens: 16,
            maxOutputTokens: this.maxOutputTokens,
            prompt: PROMPTS[i % PROMPTS.length]!,
          },
          {
            tenant: 'demo-cpu',
            idleTimeoutMs: 30_000,
            onText: (text) => {
              firstAt ??= performance.now();
              pieces.push(text);
            },
          },
        );
        this.firstText ??= pieces.join('');
        // A user reading the answer before asking again: keeps the CPU node from hogging the demo's cores.
        await new Promise((resolve) => setTimeout(resolve, 400));
        this.outcomes.push({
          code: 'ok',
          clientTtftMs: (firstAt ?? performance.now()) - started,
          outputTokens: result.outputTokens,
          totalMs: result.timings.totalMs,
        });
      } catch (err) {
        this.outcomes.push({
          code: err instanceof RemoteError || err instanceof NoRespondersError ? err.code : 'CLIENT_ERROR',
        });
        // Refused or failed: do not spin; the node may be busy or restarting.
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }
}
