/**
 * Incremental Server-Sent-Events parser (WHATWG HTML "Parsing an event stream"): feed it text as it
 * arrives, in chunks split anywhere, and it calls back once per complete event. Lines end in LF, CR
 * or CRLF (a CR at the end of one chunk and an LF at the start of the next are one line end); lines
 * starting with `:` are comments; `data` lines of one event are joined with LF; a leading BOM is
 * dropped; an unterminated event at end of stream is discarded, as the standard says.
 *
 * Written here rather than taken from npm: `eventsource-parser` is the de-facto package for this,
 * but the project adds no dependencies for ~150 lines that its tests pin down. OpenAI-style servers
 * end a stream with `data: [DONE]`; that is a plain event here and the caller's to interpret.
 */

/** One dispatched event. */
export interface SseEvent {
  /** The `event` field, or `message` when the event named none. */
  readonly event: string;
  readonly data: string;
  /** The last `id` seen on the stream so far (it persists across events), or '' if none. */
  readonly lastEventId: string;
}

/** Callbacks of a parser; `onComment` and `onRetry` are optional. */
export interface SseHandlers {
  onEvent(event: SseEvent): void;
  onComment?(text: string): void;
  /** A valid `retry` field (reconnection time in ms). */
  onRetry?(ms: number): void;
}

const LF = 10;
const CR = 13;
const BOM = '\uFEFF';

/** Feeds text chunks, emits events. One parser per stream; not reusable after `end()`. */
export class SseParser {
  /** Text of the line being assembled across chunks (no line end in it). */
  private pendingLine = '';
  /** The previous chunk ended in CR: an LF opening the next chunk belongs to that line end. */
  private skipLeadingLf = false;
  private atStreamStart = true;
  private dataLines: string[] = [];
  private hasData = false;
  private eventType = '';
  private lastEventId = '';

  constructor(private readonly handlers: SseHandlers) {}

  /** Parses `chunk`, dispatching every event it completes. */
  feed(chunk: string): void {
    let text = chunk;
    if (this.atStreamStart && text.length > 0) {
      this.atStreamStart = false;
      if (text.startsWith(BOM)) text = text.slice(1);
    }
    let start = 0;
    if (this.skipLeadingLf && text.length > 0) {
      this.skipLeadingLf = false;
      if (text.charCodeAt(0) === LF) start = 1;
    }
    // Cached positions of the next CR and LF, so a stream with only one kind of line end is scanned once.
    let nextCr = text.indexOf('\r', start);
    let nextLf = text.indexOf('\n', start);
    while (start < text.length) {
      if (nextCr !== -1 && nextCr < start) nextCr = text.indexOf('\r', start);
      if (nextLf !== -1 && nextLf < start) nextLf = text.indexOf('\n', start);
      const end = nextCr === -1 ? nextLf : nextLf === -1 ? nextCr : Math.min(nextCr, nextLf);
      if (end === -1) {
        this.pendingLine += text.slice(start);
        return;
      }
      const piece = text.slice(start, end);
      const line = this.pendingLine === '' ? piece : this.pendingLine + piece;
      this.pendingLine = '';
      start = end + 1;
      if (text.charCodeAt(end) === CR) {
        if (end + 1 === text.length) this.skipLeadingLf = true;
        else if (text.charCodeAt(end + 1) === LF) start = end + 2;
      }
      this.processLine(line);
    }
  }

  /**
   * The stream ended. An event without its closing blank line is discarded (the standard's rule),
   * so a server that dies mid-event never yields half an event.
   */
  end(): void {
    this.pendingLine = '';
    this.resetEvent();
  }

  private processLine(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58 /* ':' */) {
      this.handlers.onComment?.(line.slice(1).startsWith(' ') ? line.slice(2) : line.slice(1));
      return;
    }
    const colon = line.indexOf(':');
    let field: string;
    let value: string;
    if (colon === -1) {
      field = line;
      value = '';
    } else {
      field = line.slice(0, colon);
      value = line.charCodeAt(colon + 1) === 32 /* ' ' */ ? line.slice(colon + 2) : line.slice(colon + 1);
    }
    switch (field) {
      case 'data':
        this.dataLines.push(value);
        this.hasData = true;
        break;
      case 'event':
        this.eventType = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.handlers.onRetry?.(Number(value));
        break;
      default:
        // Unknown fields are ignored, as the standard says.
        break;
    }
  }

  private dispatch(): void {
    if (!this.hasData) {
      this.resetEvent();
      return;
    }
    const event: SseEvent = {
      event: this.eventType === '' ? 'message' : this.eventType,
      data: this.dataLines.length === 1 ? this.dataLines[0]! : this.dataLines.join('\n'),
      lastEventId: this.lastEventId,
    };
    this.resetEvent();
    this.handlers.onEvent(event);
  }

  private resetEvent(): void {
    this.dataLines = [];
    this.hasData = false;
    this.eventType = '';
  }
}

/**
 * Reads a fetch response body to its end, decoding UTF-8 across chunk boundaries, and feeds it to
 * a parser; `onBytes` runs before each chunk is parsed (a liveness signal for stall timers).
 * Resolves when the body ends; rejects when the body errors (a dropped connection, an abort).
 */
export async function pipeSseBody(
  body: ReadableStream<Uint8Array>,
  parser: SseParser,
  onBytes?: () => void,
): Promise<void> {
  const decoder = new TextDecoder();
  for await (const bytes of body) {
    onBytes?.();
    parser.feed(decoder.decode(bytes, { stream: true }));
  }
  const tail = decoder.decode();
  if (tail !== '') parser.feed(tail);
  parser.end();
}
