import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  chatPrompt,
  errorBody,
  type FakeGeneration,
  fakeTokens,
  fullResponse,
  metricsText,
  modelList,
  promptTokenCount,
  streamEvents,
  usageChunk,
} from './fake-vllm-wire.js';

/**
 * A stand-in for vLLM's OpenAI-compatible server (0.11), for tests and benchmarks: the endpoints
 * the OpenAI backend uses — /v1/completions and /v1/chat/completions (streaming or not), /health,
 * /v1/models, /metrics — writing the bodies of fake-vllm-wire.ts (which cites the vLLM source each
 * follows), with deterministic text and knobs for speed and failure. Like vLLM, a request waits for
 * one of `maxNumSeqs` engine slots, `/health` answers 503 when the engine is "dead", and a client
 * that disconnects aborts its request (counted in `cancelled`).
 */

/** Settings at start; the same names are knobs that tests may change later. */
export interface FakeVllmOptions {
  /** Served model names (`--served-model-name`); the first labels the metrics. Default ['fake-model']. */
  readonly models?: readonly string[];
  /** Decode speed of each request; Infinity sends every token at once. Default 200. */
  readonly tokensPerSecond?: number;
  /** Time from a request getting a slot to its first token (the prefill). Default 0. */
  readonly firstTokenDelayMs?: number;
  /** Tokens per streamed event (vLLM merges tokens when output outpaces the stream). Default 1. */
  readonly tokensPerChunk?: number;
  /** Requests running at once (`--max-num-seqs`); the rest wait. Default 256. */
  readonly maxNumSeqs?: number;
  /** Context length: prompt + max_tokens over it is refused with 400. Default 8192. */
  readonly maxModelLen?: number;
  /** KV-cache pool in tokens, for `kv_cache_usage_perc`. Default 65536. */
  readonly kvCacheTokens?: number;
}

interface GenerationRequest extends FakeGeneration {
  readonly prompt: string;
  readonly maxTokens: number;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly res: ServerResponse;
  /** Computed when the request starts running. */
  tokens: string[];
  state: 'waiting' | 'running' | 'ended';
  sentTokens: number;
  timer: NodeJS.Timeout | undefined;
}

/** A fake vLLM server on 127.0.0.1 and a free port. Start with `FakeVllmServer.start()`. */
export class FakeVllmServer {
  tokensPerSecond: number;
  firstTokenDelayMs: number;
  tokensPerChunk: number;
  /** Answer every generation request with this HTTP error (vLLM's error body). */
  failWith: { readonly status: number; readonly message: string } | undefined;
  /** Destroy the connection after this many tokens of each stream (a crash mid-answer). */
  dropAfterTokens: number | undefined;
  /** Send a `data: {"error": …}` event and `[DONE]` after this many tokens (an engine error mid-stream). */
  errorAfterTokens: number | undefined;
  /** Go silent, connection open, after this many tokens (a hung engine). */
  stallAfterTokens: number | undefined;
  /** Send `[DONE]` but never end the response (a server that misbehaves after answering). */
  holdOpenAfterDone = false;
  /** Ignore `stream_options` (servers that never send a usage chunk). */
  omitUsage = false;
  /** `/health` answers 200 while true, 503 while false. */
  healthy = true;
  /** Name of the KV-cache gauge on /metrics: 0.11's, or the one before 0.9.2 (hidden until 0.12). */
  kvCacheMetric: 'vllm:kv_cache_usage_perc' | 'vllm:gpu_cache_usage_perc' = 'vllm:kv_cache_usage_perc';

  /** Generation requests received, finished, and ended by the client disconnecting first. */
  received = 0;
  finished = 0;
  cancelled = 0;
  /** Most generation requests open at once (waiting or running). */
  peakOpen = 0;
  /** Bodies of generation requests, in arrival order. */
  readonly requestBodies: unknown[] = [];

  private readonly models: readonly string[];
  private readonly maxNumSeqs: number;
  private readonly maxModelLen: number;
  private readonly kvCacheTokens: number;
  private readonly startedAtS = Math.floor(Date.now() / 1000);
  private readonly open = new Set<GenerationRequest>();
  private readonly waitingQueue: GenerationRequest[] = [];
  private runningCount = 0;
  private promptTokensTotal = 0;
  private generationTokensTotal = 0;
  private nextId = 1;

  private constructor(
    private readonly server: Server,
    options: FakeVllmOptions,
  ) {
    this.models = options.models ?? ['fake-model'];
    this.tokensPerSecond = options.tokensPerSecond ?? 200;
    this.firstTokenDelayMs = options.firstTokenDelayMs ?? 0;
    this.tokensPerChunk = options.tokensPerChunk ?? 1;
    this.maxNumSeqs = options.maxNumSeqs ?? 256;
    this.maxModelLen = options.maxModelLen ?? 8192;
    this.kvCacheTokens = options.kvCacheTokens ?? 65_536;
  }

  /** Starts listening on 127.0.0.1 at a free port. */
  static async start(options: FakeVllmOptions = {}): Promise<FakeVllmServer> {
    const server = createServer();
    const fake = new FakeVllmServer(server, options);
    server.on('request', (req, res) => fake.route(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return fake;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Root URL, e.g. `http://127.0.0.1:41234`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Requests holding an engine slot now. */
  get running(): number {
    return this.runningCount;
  }

  /** Requests waiting for a slot now. */
  get waiting(): number {
    return this.waitingQueue.length;
  }

  /** Share of the KV pool the running requests' tokens (prompt + generated) fill, 0..1. */
  get kvCacheUsage(): number {
    let tokens = 0;
    for (const request of this.open)
      if (request.state === 'running') tokens += request.promptTokens + request.sentTokens;
    return Math.min(1, tokens / this.kvCacheTokens);
  }

  /** Stops listening and cuts every connection. */
  async close(): Promise<void> {
    for (const request of this.open) if (request.timer !== undefined) clearTimeout(request.timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/health') {
      res.writeHead(this.healthy ? 200 : 503, { 'content-length': '0' }).end();
    } else if (req.method === 'GET' && path === '/v1/models') {
      this.sendJson(res, 200, modelList(this.models, this.startedAtS, this.maxModelLen));
    } else if (req.method === 'GET' && path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(
        metricsText({
          model: this.models[0] ?? '',
          startedAtS: this.startedAtS,
          running: this.runningCount,
          waiting: this.waitingQueue.length,
          kvCacheMetric: this.kvCacheMetric,
          kvCacheUsage: this.kvCacheUsage,
          promptTokensTotal: this.promptTokensTotal,
          generationTokensTotal: this.generationTokensTotal,
        }),
      );
    } else if (req.method === 'POST' && (path === '/v1/completions' || path === '/v1/chat/completions')) {
      readBody(req, (body) => this.generate(path === '/v1/chat/completions', body, res));
    } else {
      this.sendJson(res, 404, { detail: 'Not Found' });
    }
  }

  private generate(chat: boolean, bodyText: string, res: ServerResponse): void {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(bodyText) as Record<string, unknown>;
    } catch {
      this.sendError(res, 400, 'BadRequestError', 'The request body is not valid JSON.');
      return;
    }
    this.requestBodies.push(body);
    const model = typeof body['model'] === 'string' ? body['model'] : '';
    if (!this.models.includes(model)) {
      this.sendError(res, 404, 'NotFoundError', `The model \`${model}\` does not exist.`);
      return;
    }
    const prompt = chat
      ? chatPrompt(body['messages'])
      : typeof body['prompt'] === 'string'
        ? body['prompt']
        : undefined;
    if (prompt === undefined) {
      this.sendError(res, 400, 'BadRequestError', chat ? 'messages must be a list' : 'prompt must be a string');
      return;
    }
    if (this.failWith !== undefined) {
      this.sendError(res, this.failWith.status, 'InternalServerError', this.failWith.message);
      return;
    }
    const promptTokens = promptTokenCount(prompt, chat);
    const maxTokens = typeof body['max_tokens'] === 'number' ? body['max_tokens'] : 16;
    if (promptTokens + maxTokens > this.maxModelLen) {
      this.sendError(
        res,
        400,
        'BadRequestError',
        `This model's maximum context length is ${this.maxModelLen} tokens. However, you requested ${promptTokens + maxTokens} tokens (${promptTokens} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`,
      );
      return;
    }
    const streamOptions = body['stream_options'];
    const request: GenerationRequest = {
      chat,
      id: `${chat ? 'chatcmpl' : 'cmpl'}-${(this.nextId++).toString(16).padStart(32, '0')}`,
      model,
      created: Math.floor(Date.now() / 1000),
      prompt,
      promptTokens,
      maxTokens,
      stream: body['stream'] === true,
      includeUsage:
        !this.omitUsage &&
        typeof streamOptions === 'object' &&
        streamOptions !== null &&
        (streamOptions as Record<string, unknown>)['include_usage'] === true,
      res,
      tokens: [],
      state: 'waiting',
      sentTokens: 0,
      timer: undefined,
    };
    this.received++;
    this.open.add(request);
    this.peakOpen = Math.max(this.peakOpen, this.open.size);
    res.on('close', () => this.onClose(request));
    this.waitingQueue.push(request);
    this.admit();
  }

  /** Moves waiting requests into free engine slots; each starts after its prefill. */
  private admit(): void {
    while (this.runningCount < this.maxNumSeqs && this.waitingQueue.length > 0) {
      const request = this.waitingQueue.shift()!;
      request.state = 'running';
      request.tokens = fakeTokens(request.prompt, request.maxTokens);
      this.runningCount++;
      this.promptTokensTotal += request.promptTokens;
      if (request.stream) {
        request.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
        request.res.flushHeaders();
      }
      const startedAtMs = performance.now() + this.firstTokenDelayMs;
      this.schedule(request, startedAtMs, this.firstTokenDelayMs);
    }
  }

  private schedule(request: GenerationRequest, firstTokenAtMs: number, delayMs: number): void {
    request.timer = setTimeout(() => this.emitDue(request, firstTokenAtMs), Math.max(0, delayMs));
  }

  /** Sends every token due by now, one event per `tokensPerChunk`, then re-arms for the next. */
  private emitDue(request: GenerationRequest, firstTokenAtMs: number): void {
    request.timer = undefined;
    if (request.state !== 'running') return;
    const intervalMs = Number.isFinite(this.tokensPerSecond) ? 1000 / this.tokensPerSecond : 0;
    const elapsedMs = performance.now() - firstTokenAtMs;
    const due = Math.min(
      request.maxTokens,
      intervalMs === 0 ? request.maxTokens : Math.floor(elapsedMs / intervalMs) + 1,
    );
    const tokens = request.tokens;
    while (request.sentTokens < due) {
      if (request.sentTokens === this.dropAfterTokens) {
        this.end(request);
        // Close the TCP connection once what was written has gone out, with no end to the HTTP body.
        request.res.socket?.end();
        return;
      }
      if (request.sentTokens === this.stallAfterTokens) return;
      if (request.stream && request.sentTokens === this.errorAfterTokens) {
        const error = errorBody('InternalServerError', 'engine failure injected by the fake server', 500);
        request.res.end(`data: ${JSON.stringify(error)}\n\ndata: [DONE]\n\n`);
        this.end(request);
        return;
      }
      const count = Math.min(this.tokensPerChunk, request.maxTokens - request.sentTokens);
      const text = tokens.slice(request.sentTokens, request.sentTokens + count).join('');
      const first = request.sentTokens === 0;
      request.sentTokens += count;
      this.generationTokensTotal += count;
      const last = request.sentTokens === request.maxTokens;
      if (request.stream) request.res.write(streamEvents(request, text, first, last));
    }
    if (request.sentTokens < request.maxTokens) {
      this.schedule(request, firstTokenAtMs, firstTokenAtMs + request.sentTokens * intervalMs - performance.now());
      return;
    }
    if (request.stream) {
      const usage = request.includeUsage ? `data: ${JSON.stringify(usageChunk(request))}\n\n` : '';
      if (this.holdOpenAfterDone) {
        // Still open, so a later disconnect counts in `cancelled`.
        request.res.write(`${usage}data: [DONE]\n\n`);
        return;
      }
      request.res.end(`${usage}data: [DONE]\n\n`);
    } else this.sendJson(request.res, 200, fullResponse(request, tokens.join('')));
    this.finished++;
    this.end(request);
  }

  /** The connection closed: a disconnect before the answer ended is a cancel, as vLLM treats it. */
  private onClose(request: GenerationRequest): void {
    if (request.state === 'ended') return;
    this.cancelled++;
    this.end(request);
  }

  private end(request: GenerationRequest): void {
    if (request.state === 'ended') return;
    if (request.timer !== undefined) clearTimeout(request.timer);
    request.timer = undefined;
    if (request.state === 'running') this.runningCount--;
    else {
      const index = this.waitingQueue.indexOf(request);
      if (index !== -1) this.waitingQueue.splice(index, 1);
    }
    request.state = 'ended';
    this.open.delete(request);
    this.admit();
  }

  private sendError(res: ServerResponse, status: number, type: string, message: string): void {
    this.sendJson(res, status, errorBody(type, message, status));
  }

  private sendJson(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
  }
}

function readBody(req: IncomingMessage, onBody: (text: string) => void): void {
  const parts: Buffer[] = [];
  req.on('data', (part: Buffer) => parts.push(part));
  req.on('end', () => onBody(Buffer.concat(parts).toString('utf8')));
}
