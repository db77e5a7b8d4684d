/**
 * Writes the JSON Schema of every protocol v1 message to docs/schemas/<Name>.json, or with `--check`
 * verifies that the checked-in files are exactly what the zod definitions produce.
 *
 *   npx tsc -b protocol && node protocol/dist/export-schemas.js [--check] [--dir <path>]
 *
 * The files are golden: clients in other languages validate against them, and json-schema.test.ts
 * fails when they drift from the code. Exit status: 0 in sync (or written), 1 out of sync, 2 bad usage.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MESSAGE_SCHEMAS, jsonSchemaOf } from './json-schema.js';

/** A documented message name, e.g. `Registration`. */
export type MessageName = keyof typeof MESSAGE_SCHEMAS;

/** docs/schemas of this checkout; the same relative path holds from protocol/src and protocol/dist. */
export const DEFAULT_SCHEMA_DIR = fileURLToPath(new URL('../../docs/schemas', import.meta.url));

/** The command that regenerates the golden files; failure messages point developers at it. */
export const EXPORT_COMMAND = 'npx tsc -b protocol && node protocol/dist/export-schemas.js';

/** Every message name, in MESSAGE_SCHEMAS order. */
export function messageNames(): MessageName[] {
  return Object.keys(MESSAGE_SCHEMAS) as MessageName[];
}

/** File name of one message's schema. */
export function schemaFileName(name: MessageName): string {
  return `${name}.json`;
}

/** Exact contents of one schema file: 2-space JSON in the key order zod produces, with a trailing newline. */
export function renderSchemaFile(name: MessageName): string {
  return `${JSON.stringify(jsonSchemaOf(name), null, 2)}\n`;
}

/** How a schema directory differs from the code; all empty when in sync. File names, sorted. */
export interface SchemaDrift {
  missing: string[];
  differing: string[];
  extra: string[];
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).filter((entry) => !entry.startsWith('.'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Compares `dir` with what the code produces. Hidden files (e.g. .gitkeep) are ignored. */
export function checkSchemaDir(dir: string = DEFAULT_SCHEMA_DIR): SchemaDrift {
  const expected = new Map(messageNames().map((name) => [schemaFileName(name), renderSchemaFile(name)]));
  const present = new Set(listDir(dir));
  const drift: SchemaDrift = { missing: [], differing: [], extra: [] };
  for (const [file, contents] of expected) {
    if (!present.has(file)) drift.missing.push(file);
    else if (readFileSync(join(dir, file), 'utf8') !== contents) drift.differing.push(file);
  }
  for (const file of present) if (!expected.has(file)) drift.extra.push(file);
  drift.missing.sort();
  drift.differing.sort();
  drift.extra.sort();
  return drift;
}

/** Whether a drift report says the directory is in sync. */
export function inSync(drift: SchemaDrift): boolean {
  return drift.missing.length === 0 && drift.differing.length === 0 && drift.extra.length === 0;
}

/**
 * Writes every schema file into `dir` (created if needed) and deletes stale `*.json` files that no
 * message produces any more. Returns the other extra entries, which it leaves alone.
 */
export function writeSchemaDir(dir: string = DEFAULT_SCHEMA_DIR): {
  written: string[];
  removed: string[];
  kept: string[];
} {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const name of messageNames()) {
    const file = schemaFileName(name);
    writeFileSync(join(dir, file), renderSchemaFile(name), 'utf8');
    written.push(file);
  }
  const removed: string[] = [];
  const kept: string[] = [];
  for (const file of checkSchemaDir(dir).extra) {
    if (file.endsWith('.json')) {
      rmSync(join(dir, file));
      removed.push(file);
    } else {
      kept.push(file);
    }
  }
  return { written, removed, kept };
}

/** Human-readable drift report, one file per line. */
export function describeDrift(drift: SchemaDrift, dir: string): string {
  const lines = [`JSON Schemas in ${dir} are out of date with protocol/src:`];
  for (const file of drift.missing) lines.push(`  missing:   ${file}`);
  for (const file of drift.differing) lines.push(`  differs:   ${file}`);
  for (const file of drift.extra) lines.push(`  extra:     ${file}`);
  lines.push(`Regenerate them with: ${EXPORT_COMMAND}`);
  return lines.join('\n');
}

/** Command-line entry point; returns the exit status. */
export function main(argv: readonly string[]): number {
  let check = false;
  let dir = DEFAULT_SCHEMA_DIR;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--check') check = true;
    else if (arg === '--dir' && argv[i + 1] !== undefined) dir = resolve(argv[++i] as string);
    else {
      process.stderr.write(`unknown argument ${JSON.stringify(arg)}\nusage: export-schemas [--check] [--dir <path>]\n`);
      return 2;
    }
  }
  if (check) {
    const drift = checkSchemaDir(dir);
    if (inSync(drift)) {
      process.stdout.write(`${messageNames().length} JSON Schemas in ${dir} are up to date\n`);
      return 0;
    }
    process.stderr.write(`${describeDrift(drift, dir)}\n`);
    return 1;
  }
  const { written, removed, kept } = writeSchemaDir(dir);
  process.stdout.write(`wrote ${written.length} JSON Schemas to ${dir}\n`);
  for (const file of removed) process.stdout.write(`removed stale ${file}\n`);
  for (const file of kept) process.stderr.write(`warning: ${file} in ${dir} is not a message schema; left alone\n`);
  return 0;
}

const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(resolve(invokedPath)).href) {
  process.exitCode = main(process.argv.slice(2));
}
