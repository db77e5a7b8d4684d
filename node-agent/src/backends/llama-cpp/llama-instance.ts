import { getLlama, type Llama, LlamaLogLevel } from 'node-llama-cpp';
import type { LlamaCppBackendLog } from './llama-cpp-options.js';

/** Loggers of the open backends; the process-wide llama.cpp instance reports its warnings to each. */
const llamaLogs = new Set<LlamaCppBackendLog>();
let processLlama: Promise<Llama> | undefined;

/**
 * The process's llama.cpp instance, CPU only, from the prebuilt binary the npm install brought:
 * `build: 'never'` and `skipDownload` forbid compiling or fetching anything at run time. Shared and
 * never disposed: starting it (loading the library, testing the binary in a child process) takes
 * ~0.6 s on 2 cores, and the library stays loaded like any shared library while each backend frees
 * its own model and context. `maxThreads: 0` lets each context's `threads` be the exact count used.
 */
export function llamaInstance(): Promise<Llama> {
  processLlama ??= getLlama({
    gpu: false,
    build: 'never',
    skipDownload: true,
    maxThreads: 0,
    logLevel: LlamaLogLevel.warn,
    logger: (level, message) => {
      for (const log of llamaLogs) log.warn({ level, llamaCpp: message.trim() }, 'llama.cpp');
    },
  });
  const pending = processLlama;
  pending.catch(() => {
    if (processLlama === pending) processLlama = undefined;
  });
  return pending;
}

/** Sends llama.cpp's warnings to `log` too, until forgotten. */
export function hearLlamaLogs(log: LlamaCppBackendLog): void {
  llamaLogs.add(log);
}

/** Stops sending llama.cpp's warnings to `log`. */
export function forgetLlamaLogs(log: LlamaCppBackendLog): void {
  llamaLogs.delete(log);
}
