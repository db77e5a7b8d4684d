import { getProfile } from '@switchyard/fleet-model';
import type { ErrorCode } from '@switchyard/protocol';
import type { BackendCompletion, BackendJob, BackendListener } from '../backend.js';
import { FakeVllmServer, type FakeVllmOptions } from './fake-vllm-server.js';
import { OpenAiBackend } from './openai-backend.js';
import type { OpenAiBackendOptions } from './openai-backend-options.js';

export const hardware = { profile: getProfile('h100')!, chipCount: 8 };

export type Event =
  | { kind: 'first'; jobId: string }
  | { kind: 'text'; jobId: string; chunk: string }
  | { kind: 'completed'; jobId: string; completion: BackendCompletion }
  | { kind: 'failed'; jobId: string; code: ErrorCode; message: string };

/** Records every backend event in order. */
export class RecordingListener implements BackendListener {
  readonly events: Event[] = [];

  firstToken(jobId: string): void {
    this.events.push({ kind: 'first', jobId });
  }
  text(jobId: string, chunk: string): void {
    this.events.push({ kind: 'text', jobId, chunk });
  }
  completed(completion: BackendCompletion): void {
    this.events.push({ kind: 'completed', jobId: completion.jobId, completion });
  }
  failed(jobId: string, code: ErrorCode, message: string): void {
    this.events.push({ kind: 'failed', jobId, code, message });
  }

  of(jobId: string): Event[] {
    return this.events.filter((event) => event.jobId === jobId);
  }
  texts(jobId: string): string[] {
    return this.of(jobId).flatMap((event) => (event.kind === 'text' ? [event.chunk] : []));
  }
  /** The job's completion or failure, once it comes. */
  async outcome(jobId: string): Promise<Event> {
    await waitFor(() => this.end(jobId) !== undefined, `job ${jobId} to end`);
    return this.end(jobId)!;
  }
  async completion(jobId: string): Promise<BackendCompletion> {
    const end = await this.outcome(jobId);
    if (end.kind !== 'completed') throw new Error(`job ${jobId} failed: ${JSON.stringify(end)}`);
    return end.completion;
  }
  private end(jobId: string): Event | undefined {
    return this.of(jobId).find((event) => event.kind === 'completed' || event.kind === 'failed');
  }
}

/** Polls until `condition` holds (the condition is external I/O, so there is nothing to await). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const fakes: FakeVllmServer[] = [];
const backends: OpenAiBackend[] = [];

/** Keeps `backend` for `closeStarted` to close after the test. */
export function trackBackend(backend: OpenAiBackend): void {
  backends.push(backend);
}

/** Closes every backend and fake the test started; run it after each test. */
export async function closeStarted(): Promise<void> {
  for (const backend of backends.splice(0)) backend.close();
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
}

export async function startFake(options: FakeVllmOptions = {}): Promise<FakeVllmServer> {
  const fake = await FakeVllmServer.start({ models: ['m'], ...options });
  fakes.push(fake);
  return fake;
}

export function backendOptions(baseUrl: string): OpenAiBackendOptions {
  return {
    baseUrl,
    models: ['m'],
    api: 'completions',
    maxConcurrency: 4,
    maxQueue: 16,
    requestTimeoutMs: 5_000,
    // Checks run when a test calls refresh(), not on a timer, so each test decides when state changes.
    healthIntervalMs: 600_000,
    hardware,
  };
}

/** A backend on `baseUrl` (a fake's URL), after its first health check. */
export async function startBackend(
  baseUrl: string,
  overrides: Partial<OpenAiBackendOptions> = {},
): Promise<{ backend: OpenAiBackend; events: RecordingListener }> {
  const events = new RecordingListener();
  const backend = new OpenAiBackend({ ...backendOptions(baseUrl), ...overrides }, events);
  trackBackend(backend);
  await backend.refresh();
  return { backend, events };
}

/** Answers /health itself, so a backend is up while nothing listens at the server's address. */
export const healthyFetch: typeof fetch = (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  return url.endsWith('/health') ? Promise.resolve(new Response('')) : fetch(input, init);
};

export function job(id: string, maxOutputTokens: number, extra: Partial<BackendJob> = {}): BackendJob {
  return { id, model: 'm', inputTokens: 3, maxOutputTokens, priority: 'normal', prompt: `prompt of ${id}`, ...extra };
}
