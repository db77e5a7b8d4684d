import type { ModelSpec, NodeHardware } from '@switchyard/fleet-model';
import type { OpenAiApi } from './openai-wire.js';

/** Settings of a backend that forwards work to a local OpenAI-compatible model server. */
export interface OpenAiBackendOptions {
  /** The server's root, e.g. `http://127.0.0.1:8000` (without `/v1`). */
  readonly baseUrl: string;
  /** Model names the server serves (its `--served-model-name`); jobs for others are refused at once. */
  readonly models: readonly string[];
  readonly api: OpenAiApi;
  /** Requests sent to the server at once; more wait here. A power limit lowers it (see setPowerLimit). */
  readonly maxConcurrency: number;
  /** Jobs that may wait here for a slot; more are refused with OVERLOADED. */
  readonly maxQueue: number;
  /**
   * Longest the server may stay silent: before the response headers, and between two stream chunks.
   * Not a cap on a whole answer (the agent enforces deadlines); it must exceed the longest prefill.
   */
  readonly requestTimeoutMs: number;
  /** How often the server's health is checked and its metrics scraped. */
  readonly healthIntervalMs: number;
  /** Health endpoint: `/health` (default; vLLM, SGLang, TGI), or `/v1/models` for servers without one. */
  readonly healthPath?: string;
  /** Prometheus endpoint (default `/metrics`); a server without one leaves status on our own counts. */
  readonly metricsPath?: string;
  /** Consecutive failed checks after which a healthy server counts as down (default 2). */
  readonly unhealthyAfterFailures?: number;
  /** The node's accelerators: memory and power figures for status when the agent has no probe. */
  readonly hardware: NodeHardware;
  /** Catalogue entries of the served models, for the HBM their weights hold (default: 0 bytes). */
  readonly modelSpecs?: (name: string) => ModelSpec | undefined;
  /** Bearer token for a server started with `--api-key`. */
  readonly apiKey?: string;
  /** Node-wide power limit (W) at start, clamped to the hardware's range; default uncapped. */
  readonly powerLimitWatts?: number;
  /**
   * Whether a power limit sheds concurrency (default true: Neuron, or no hardware power limiter).
   * False where a hardware limiter (nvidia-smi) already caps the devices, so as not to cap twice.
   */
  readonly shedConcurrencyUnderPowerLimit?: boolean;
  /** Monotonic clock in ms for timings and stall checks (default `performance.now`). */
  readonly clock?: () => number;
  /** HTTP client (default the global fetch). */
  readonly fetch?: typeof fetch;
}

function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min)
    throw new RangeError(`${name} must be an integer ≥ ${min}, got ${value}`);
}

/** Throws TypeError or RangeError naming the first bad setting; called once, at construction. */
export function validateOpenAiBackendOptions(options: OpenAiBackendOptions): void {
  let url: URL;
  try {
    url = new URL(options.baseUrl);
  } catch {
    throw new TypeError(`model server URL ${JSON.stringify(options.baseUrl)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TypeError(`model server URL ${options.baseUrl} must be http or https`);
  if (options.models.length === 0) throw new RangeError('the model server backend needs at least one served model');
  requireInteger('maxConcurrency', options.maxConcurrency, 1);
  requireInteger('maxQueue', options.maxQueue, 0);
  requireInteger('unhealthyAfterFailures', options.unhealthyAfterFailures ?? 1, 1);
  if (!(options.requestTimeoutMs > 0))
    throw new RangeError(`requestTimeoutMs must be positive, got ${options.requestTimeoutMs}`);
  if (!(options.healthIntervalMs > 0))
    throw new RangeError(`healthIntervalMs must be positive, got ${options.healthIntervalMs}`);
}
