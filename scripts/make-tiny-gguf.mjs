#!/usr/bin/env node
// Writes the tiny random-weight llama model the llama.cpp CPU backend, its tests and the demo run
// (GGUF, F32, deterministic for a seed). Skips the write when the file already has exactly these
// bytes. Usage: node scripts/make-tiny-gguf.mjs [path] [--seed N]   (after npm run build)
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const modulePath = resolve(root, 'node-agent/dist/backends/llama-cpp/tiny-llama-model.js');
if (!existsSync(modulePath)) {
  console.error(`make-tiny-gguf: ${modulePath} is missing; run npm run build first`);
  process.exit(1);
}
const { DEFAULT_TINY_LLAMA_PATH, TINY_LLAMA_DEFAULTS, ensureTinyLlamaModel } = await import(modulePath);

try {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { seed: { type: 'string', default: String(TINY_LLAMA_DEFAULTS.seed) } },
  });
  const path = resolve(root, positionals[0] ?? DEFAULT_TINY_LLAMA_PATH);
  const file = await ensureTinyLlamaModel(path, { seed: Number(values.seed) });
  const verb = file.written ? 'wrote' : 'kept';
  console.log(`make-tiny-gguf: ${verb} ${file.path} (${file.bytes} bytes, sha256 ${file.sha256})`);
} catch (err) {
  console.error(`make-tiny-gguf: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
