/**
 * Reads the load figures a model server exposes on its Prometheus endpoint: requests running,
 * requests waiting, and KV-cache usage. The names are those of vLLM (0.11: `vllm:kv_cache_usage_perc`;
 * before 0.9.2 and, with `--show-hidden-metrics-for-version`, up to 0.11: `vllm:gpu_cache_usage_perc`,
 * removed in 0.12), SGLang (`--enable-metrics`) and TGI. These are the three figures the Gateway API
 * Inference Extension's endpoint picker scrapes, so they are what servers keep stable.
 */

/** What one scrape told us; a figure the server does not export is undefined. */
export interface ServerLoad {
  /** Requests in the engine's running batch, summed over engines (data-parallel ranks). */
  readonly running: number | undefined;
  /** Requests waiting inside the server, summed over engines. */
  readonly waiting: number | undefined;
  /** Share of the KV-cache pool in use, 0..1, averaged over engines. */
  readonly kvCacheUsage: number | undefined;
}

/** Metric names per figure, first match wins (vLLM, its pre-0.12 KV name, SGLang, TGI). */
const RUNNING_NAMES = ['vllm:num_requests_running', 'sglang:num_running_reqs', 'tgi_batch_current_size'];
const WAITING_NAMES = ['vllm:num_requests_waiting', 'sglang:num_queue_reqs', 'tgi_queue_size'];
const KV_USAGE_NAMES = ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc', 'sglang:token_usage'];

/**
 * Finite sample values per metric name from Prometheus text exposition (format 0.0.4): one entry
 * per series, labels ignored. Comments, blank lines and unreadable lines are skipped.
 */
export function parsePrometheusSamples(text: string, wanted: ReadonlySet<string>): Map<string, number[]> {
  const samples = new Map<string, number[]>();
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const nameEnd = line.search(/[{\s]/);
    if (nameEnd <= 0) continue;
    const name = line.slice(0, nameEnd);
    if (!wanted.has(name)) continue;
    let rest = line.slice(nameEnd);
    if (rest.startsWith('{')) {
      const close = closingBrace(rest);
      if (close === -1) continue;
      rest = rest.slice(close + 1);
    }
    // Value, then an optional timestamp.
    const valueText = rest.trim().split(/\s+/)[0];
    if (valueText === undefined || valueText === '') continue;
    const value = parseSampleValue(valueText);
    if (value === undefined) continue;
    const list = samples.get(name);
    if (list === undefined) samples.set(name, [value]);
    else list.push(value);
  }
  return samples;
}

/** The end of a label set, skipping braces inside quoted label values. */
function closingBrace(text: string): number {
  let inQuotes = false;
  for (let i = 1; i < text.length; i++) {
    const char = text[i];
    if (inQuotes) {
      if (char === '\\') i++;
      else if (char === '"') inQuotes = false;
    } else if (char === '"') inQuotes = true;
    else if (char === '}') return i;
  }
  return -1;
}

/** A finite sample value; NaN and ±Inf carry no load figure and are dropped. */
function parseSampleValue(text: string): number | undefined {
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

const WANTED = new Set([...RUNNING_NAMES, ...WAITING_NAMES, ...KV_USAGE_NAMES]);

/** A count summed over engines; undefined when the server does not export it. */
function sumOf(values: number[] | undefined): number | undefined {
  return values === undefined ? undefined : Math.max(0, Math.round(values.reduce((a, b) => a + b, 0)));
}

/** Running, waiting and KV-cache usage from a model server's /metrics text. */
export function readServerLoad(text: string): ServerLoad {
  const samples = parsePrometheusSamples(text, WANTED);
  const first = (names: readonly string[]): number[] | undefined =>
    names.map((name) => samples.get(name)).find((values) => values !== undefined && values.length > 0);
  const kv = first(KV_USAGE_NAMES);
  return {
    running: sumOf(first(RUNNING_NAMES)),
    waiting: sumOf(first(WAITING_NAMES)),
    kvCacheUsage: kv === undefined ? undefined : Math.min(1, Math.max(0, kv.reduce((a, b) => a + b, 0) / kv.length)),
  };
}
