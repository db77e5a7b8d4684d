import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pipeSseBody, type SseEvent, SseParser } from './sse.js';

/** Parses `chunks` fed one by one; returns events, comments and retry values seen. */
function parse(chunks: readonly string[]): { events: SseEvent[]; comments: string[]; retries: number[] } {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const retries: number[] = [];
  const parser = new SseParser({
    onEvent: (event) => events.push(event),
    onComment: (text) => comments.push(text),
    onRetry: (ms) => retries.push(ms),
  });
  for (const chunk of chunks) parser.feed(chunk);
  parser.end();
  return { events, comments, retries };
}

const data = (events: readonly SseEvent[]): string[] => events.map((event) => event.data);

/** A vLLM-like stream: two token events, the usage chunk, then [DONE]. */
const VLLM_STREAM =
  'data: {"choices":[{"text":" a"}]}\n\n' +
  'data: {"choices":[{"text":" b"}]}\n\n' +
  'data: {"choices":[],"usage":{"completion_tokens":2}}\n\n' +
  'data: [DONE]\n\n';

describe('SseParser', () => {
  it('yields each data event, [DONE] included as plain data', () => {
    expect(data(parse([VLLM_STREAM]).events)).toEqual([
      '{"choices":[{"text":" a"}]}',
      '{"choices":[{"text":" b"}]}',
      '{"choices":[],"usage":{"completion_tokens":2}}',
      '[DONE]',
    ]);
  });

  it('gives the same events however the stream is split into chunks', () => {
    const whole = parse([VLLM_STREAM]).events;
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: VLLM_STREAM.length }), { maxLength: 12 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const chunks: string[] = [];
        let from = 0;
        for (const point of points) {
          chunks.push(VLLM_STREAM.slice(from, point));
          from = point;
        }
        chunks.push(VLLM_STREAM.slice(from));
        expect(parse(chunks).events).toEqual(whole);
      }),
    );
  });

  it('accepts CRLF, lone CR and LF line ends, also when CR and LF fall in different chunks', () => {
    expect(data(parse(['data: one\r\n\r\ndata: two\r\rdata: three\n\n']).events)).toEqual(['one', 'two', 'three']);
    expect(data(parse(['data: one\r', '\n\r', '\ndata: two\r', '\r']).events)).toEqual(['one', 'two']);
  });

  it('joins multi-line data with LF and keeps the event type and last id', () => {
    const { events } = parse(['event: update\nid: 7\ndata: first\ndata: second\n\ndata: third\n\n']);
    expect(events).toEqual([
      { event: 'update', data: 'first\nsecond', lastEventId: '7' },
      { event: 'message', data: 'third', lastEventId: '7' },
    ]);
  });

  it('reports comments and retry, and ignores unknown fields and events without data', () => {
    const { events, comments, retries } = parse([': keep-alive\n\nretry: 1500\nretry: soon\nfoo: bar\nevent: x\n\n']);
    expect(events).toEqual([]);
    expect(comments).toEqual(['keep-alive']);
    expect(retries).toEqual([1500]);
  });

  it('takes a field with no space after the colon, and a bare field name as an empty value', () => {
    expect(data(parse(['data:tight\n\ndata\n\n']).events)).toEqual(['tight', '']);
    expect(data(parse(['data:  two spaces\n\n']).events)).toEqual([' two spaces']);
  });

  it('drops a leading byte-order mark and discards an event cut off by the end of the stream', () => {
    expect(data(parse(['\uFEFFdata: x\n\ndata: cut off']).events)).toEqual(['x']);
    expect(data(parse(['data: no blank line\n']).events)).toEqual([]);
  });
});

describe('pipeSseBody', () => {
  it('decodes UTF-8 split across byte chunks and reports each chunk before parsing it', async () => {
    const bytes = new TextEncoder().encode('data: h\u00e9llo \u{1F600}\n\ndata: [DONE]\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 3) controller.enqueue(bytes.slice(i, i + 3));
        controller.close();
      },
    });
    const events: string[] = [];
    let chunks = 0;
    await pipeSseBody(body, new SseParser({ onEvent: (event) => events.push(event.data) }), () => chunks++);
    expect(events).toEqual(['h\u00e9llo \u{1F600}', '[DONE]']);
    expect(chunks).toBe(Math.ceil(bytes.length / 3));
  });

  it('rejects when the body errors, after the events that arrived whole', async () => {
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulls++ === 0) controller.enqueue(new TextEncoder().encode('data: whole\n\ndata: par'));
        else controller.error(new TypeError('terminated'));
      },
    });
    const events: string[] = [];
    await expect(pipeSseBody(body, new SseParser({ onEvent: (event) => events.push(event.data) }))).rejects.toThrow(
      'terminated',
    );
    expect(events).toEqual(['whole']);
  });
});
