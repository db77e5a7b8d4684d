import { mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  checkSchemaDir,
  describeDrift,
  inSync,
  main,
  messageNames,
  renderSchemaFile,
  writeSchemaDir,
} from './export-schemas.js';
import { MESSAGE_SCHEMAS, jsonSchemaOf } from './json-schema.js';

describe('export-schemas', () => {
  let dir: string;
  let stderrWrite: ReturnType<typeof vi.fn<(chunk: unknown) => boolean>>;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-schemas-'));
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    stderrWrite = vi.fn<(chunk: unknown) => boolean>(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(stderrWrite);
  });

  afterEach(() => {
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('covers every entry of MESSAGE_SCHEMAS', () => {
    expect(messageNames()).toEqual(Object.keys(MESSAGE_SCHEMAS));
  });

  it('renders pretty JSON with 2-space indent, zod key order and a trailing newline', () => {
    const text = renderSchemaFile('NodeCommand');
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.split('\n')[1]).toBe('  "$id": "urn:switchyard:protocol:v1:NodeCommand",');
    expect(Object.keys(JSON.parse(text) as object)).toEqual(Object.keys(jsonSchemaOf('NodeCommand')));
  });

  it('writes one file per message into an empty directory, then checks clean', () => {
    const { written, removed, kept } = writeSchemaDir(dir);
    expect(written).toHaveLength(messageNames().length);
    expect(removed).toEqual([]);
    expect(kept).toEqual([]);
    expect(readdirSync(dir).toSorted()).toEqual(
      messageNames()
        .map((name) => `${name}.json`)
        .toSorted(),
    );
    expect(readFileSync(join(dir, 'Heartbeat.json'), 'utf8')).toBe(renderSchemaFile('Heartbeat'));
    expect(inSync(checkSchemaDir(dir))).toBe(true);
  });

  it('reports missing, differing and extra files, sorted', () => {
    writeSchemaDir(dir);
    unlinkSync(join(dir, 'WorkResult.json'));
    unlinkSync(join(dir, 'Assignment.json'));
    writeFileSync(join(dir, 'Heartbeat.json'), JSON.stringify(jsonSchemaOf('Heartbeat')), 'utf8'); // same data, other layout
    writeFileSync(join(dir, 'OldMessage.json'), '{}\n', 'utf8');
    writeFileSync(join(dir, '.gitkeep'), '', 'utf8');
    const drift = checkSchemaDir(dir);
    expect(drift).toEqual({
      missing: ['Assignment.json', 'WorkResult.json'],
      differing: ['Heartbeat.json'],
      extra: ['OldMessage.json'],
    });
    const report = describeDrift(drift, dir);
    expect(report).toContain('missing:   Assignment.json');
    expect(report).toContain('differs:   Heartbeat.json');
    expect(report).toContain('extra:     OldMessage.json');
    expect(report).toContain('node protocol/dist/export-schemas.js');
  });

  it('treats a directory that does not exist as all files missing', () => {
    const drift = checkSchemaDir(join(dir, 'nope'));
    expect(drift.missing).toHaveLength(messageNames().length);
    expect(inSync(drift)).toBe(false);
  });

  it('removes stale .json files when writing and leaves other files alone', () => {
    writeFileSync(join(dir, 'OldMessage.json'), '{}\n', 'utf8');
    writeFileSync(join(dir, 'README.md'), '# schemas\n', 'utf8');
    const { removed, kept } = writeSchemaDir(dir);
    expect(removed).toEqual(['OldMessage.json']);
    expect(kept).toEqual(['README.md']);
    expect(checkSchemaDir(dir).extra).toEqual(['README.md']);
  });

  it('main: --check exits 1 when out of date, writing fixes it, --check then exits 0', () => {
    expect(main(['--check', '--dir', dir])).toBe(1);
    expect(stderrWrite).toHaveBeenCalledWith(expect.stringContaining('missing:   ErrorReply.json'));
    expect(main(['--dir', dir])).toBe(0);
    expect(main(['--check', '--dir', dir])).toBe(0);
  });

  it('main: rejects unknown arguments with status 2', () => {
    expect(main(['--chek'])).toBe(2);
    expect(main(['--dir'])).toBe(2);
  });
});
