/**
 * The llama.cpp CPU backend and the tiny model it runs in tests and the demo. Importing this module
 * does not load node-llama-cpp (~0.5 s): import `./llama-cpp-backend.js` where the backend is used.
 */
export * from './gguf-writer.js';
export * from './tiny-llama-model.js';
export * from './llama-cpp-options.js';
export type { LlamaCppBackend, LoadedLlamaCppModel } from './llama-cpp-backend.js';
