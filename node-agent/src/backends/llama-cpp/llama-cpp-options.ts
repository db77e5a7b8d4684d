import type { NodeHardware } from '@switchyard/fleet-model';

/** Settings of a node that runs a GGUF model on its CPU. */
export interface LlamaCppBackendOptions {
  /** The GGUF file, loaded once at open (memory-mapped). */
  readonly modelPath: string;
  /** The catalogue name the node serves the model under; jobs for any other model are refused. */
  readonly modelName: string;
  /** Context sequences: jobs that generate at once, batched together by llama.cpp. */
  readonly maxConcurrency: number;
  /** Jobs that may wait for a sequence; more are refused with NO_CAPACITY. */
  readonly maxQueue: number;
  /**
   * Compute threads. Default: one per core less one, since the event loop needs a core and ggml's
   * workers spin at every barrier: an oversubscribed core stalls each step (measured on 2 cores:
   * 1 thread 640 tokens/s, 2 threads 63, 4 threads 2).
   */
  readonly threads?: number;
  /** Tokens each sequence holds (prompt and output). Default: the model's training context, at most 4096. */
  readonly contextSize?: number;
  /** The node's hardware as the fleet model knows it; gives the power-limit range. */
  readonly hardware: NodeHardware;
  /** Node-wide power limit (W) at start, clamped to the hardware's range; default uncapped. */
  readonly powerLimitWatts?: number;
  /** Receives llama.cpp's warnings and failures to free the model. */
  readonly log?: LlamaCppBackendLog;
}

/** Where the backend reports what no listener hears. */
export interface LlamaCppBackendLog {
  warn(fields: object, message: string): void;
}

/** The model could not be opened: bad options, no usable llama.cpp binary, or an unreadable model file. */
export class LlamaCppBackendError extends Error {
  override readonly name = 'LlamaCppBackendError';
  constructor(
    readonly code: 'INVALID_OPTIONS' | 'LLAMA_CPP_UNAVAILABLE' | 'MODEL_LOAD_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Checks options before anything loads; throws LlamaCppBackendError (INVALID_OPTIONS) naming the first problem. */
export function validateLlamaCppOptions(options: LlamaCppBackendOptions): void {
  const positiveInteger = (name: string, value: number | undefined, min: number): void => {
    if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= 1 << 20))
      throw new LlamaCppBackendError(
        'INVALID_OPTIONS',
        `${name} must be an integer in ${min}..${1 << 20}, got ${value}`,
      );
  };
  if (options.modelName.length === 0) throw new LlamaCppBackendError('INVALID_OPTIONS', 'modelName is empty');
  if (options.modelPath.length === 0) throw new LlamaCppBackendError('INVALID_OPTIONS', 'modelPath is empty');
  positiveInteger('maxConcurrency', options.maxConcurrency, 1);
  positiveInteger('maxQueue', options.maxQueue, 0);
  positiveInteger('threads', options.threads, 1);
  positiveInteger('contextSize', options.contextSize, 16);
}
