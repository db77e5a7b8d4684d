import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decode } from './codec.js';
import { ERROR_CODES } from './errors.js';
import { MESSAGE_SCHEMAS } from './json-schema.js';
import { ADMIN_VERBS, subjects } from './subjects.js';
import { MAX_MESSAGE_BYTES } from './version.js';

// docs/protocol.md is what other-language implementers read: its examples must be real messages,
// and it must cover every message, error code and subject. Examples are marked in the Markdown:
//   <!-- example: Name -->   the next ```json block is a valid Name message
//   <!-- rejects: Name -->   the next ```json block is refused when decoded as Name, and the
//                            following `example: ErrorReply` block is exactly the error reply sent.

const DOC = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
type MessageName = keyof typeof MESSAGE_SCHEMAS;

interface MarkedBlock {
  kind: 'example' | 'rejects';
  name: string;
  body: string;
  line: number;
}

function markedBlocks(markdown: string): MarkedBlock[] {
  const pattern = /<!-- (example|rejects): (\w+) -->\s*```json\n([\s\S]*?)```/g;
  return [...markdown.matchAll(pattern)].map((match) => ({
    kind: match[1] as MarkedBlock['kind'],
    name: match[2] ?? '',
    body: match[3] ?? '',
    line: markdown.slice(0, match.index).split('\n').length,
  }));
}

const blocks = markedBlocks(DOC);
const isMessageName = (name: string): name is MessageName => Object.hasOwn(MESSAGE_SCHEMAS, name);

describe('docs/protocol.md', () => {
  it('marks its examples (sanity check of the extractor)', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(Object.keys(MESSAGE_SCHEMAS).length);
    expect(
      blocks.filter((block) => !isMessageName(block.name)).map((block) => `${block.name} (line ${block.line})`),
    ).toEqual([]);
  });

  it('shows at least one example of every message', () => {
    const shown = new Set(blocks.filter((block) => block.kind === 'example').map((block) => block.name));
    expect(Object.keys(MESSAGE_SCHEMAS).filter((name) => !shown.has(name))).toEqual([]);
  });

  it.each(
    blocks
      .filter((block) => block.kind === 'example')
      .map((block) => [`${block.name} at line ${block.line}`, block] as const),
  )('example %s is a valid message', (_label, block) => {
    const decoded = decode(MESSAGE_SCHEMAS[block.name as MessageName], utf8(block.body));
    expect(decoded.ok ? [] : [decoded.error.message]).toEqual([]);
  });

  it.each(
    blocks
      .filter((block) => block.kind === 'rejects')
      .map((block) => [`${block.name} at line ${block.line}`, block] as const),
  )('rejected body %s is answered exactly as documented', (_label, block) => {
    const next = blocks[blocks.indexOf(block) + 1];
    expect(next).toMatchObject({ kind: 'example', name: 'ErrorReply' });
    const decoded = decode(MESSAGE_SCHEMAS[block.name as MessageName], utf8(block.body));
    expect(decoded.ok).toBe(false);
    if (decoded.ok || next === undefined) return;
    expect({ v: 1, ok: false, error: decoded.error }).toEqual(JSON.parse(next.body));
  });

  it.each(Object.keys(MESSAGE_SCHEMAS))('links the normative schema of %s', (name) => {
    expect(DOC).toContain(`(schemas/${name}.json)`);
  });

  it.each(ERROR_CODES)('documents the error code %s', (code) => {
    expect(DOC).toMatch(new RegExp(`\\| \`${code}\`\\s+\\| (yes|no) `));
  });

  it('documents every subject, as the builders spell it', () => {
    const nodeSubjects = [
      subjects.register,
      subjects.heartbeat,
      subjects.result,
      subjects.deregister,
      subjects.assign,
      subjects.notice,
    ];
    const documented = [
      ...nodeSubjects.map((build) => build('NODE').replace('NODE', '<nodeId>')),
      subjects.infer('TENANT').replace('TENANT', '<tenant>'),
      subjects.adminStatus,
      subjects.adminNode('cordon').replace('cordon', '<verb>'),
    ];
    for (const subject of documented) expect(DOC).toContain(`\`${subject}\``);
    for (const verb of ADMIN_VERBS) expect(DOC).toContain(`\`${verb}\``);
  });

  it('states the size limit in bytes', () => {
    expect(DOC).toContain(MAX_MESSAGE_BYTES.toLocaleString('en-US'));
  });
});
