import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAzureTrace, readAzureTrace, TraceFormatError, type TraceRequest } from './azure-trace.js';
import type { SkippedRow } from './workload.js';

const TRACES = fileURLToPath(new URL('../../../../shared/traces/', import.meta.url));
const HEADER = 'TIMESTAMP,ContextTokens,GeneratedTokens';

function expectNonDecreasing(requests: readonly TraceRequest[]): void {
  let previous = 0;
  const backwards = requests.filter((request) => {
    const goesBack = request.arrivalMs < previous;
    previous = request.arrivalMs;
    return goesBack;
  });
  expect(backwards).toEqual([]);
}

// The traces live beside the repository (../shared/traces), as in CI; a bare clone elsewhere has none.
describe.skipIf(!existsSync(TRACES))('readAzureTrace on the published traces', () => {
  // The traces README says 8,818 and 19,365; the files hold one more data row each (CRLF, no final newline).
  it('reads the code trace: 8,819 requests in arrival order from 0', async () => {
    const requests = await readAzureTrace(`${TRACES}azure-llm-2023-code.csv`);
    expect(requests).toHaveLength(8819);
    expect(requests[0]).toEqual({ arrivalMs: 0, inputTokens: 4808, outputTokens: 10 });
    // 18:17:04.0319600 − 18:17:03.9799600
    expect(requests[1]?.inputTokens).toBe(3180);
    expect(requests[1]?.outputTokens).toBe(8);
    expect(requests[1]?.arrivalMs).toBeCloseTo(52, 3);
    expectNonDecreasing(requests);
  });

  it('reads the conversation trace: 19,366 requests in arrival order from 0', async () => {
    const requests = await readAzureTrace(`${TRACES}azure-llm-2023-conv.csv`);
    expect(requests).toHaveLength(19366);
    expect(requests[0]).toEqual({ arrivalMs: 0, inputTokens: 374, outputTokens: 44 });
    // 18:15:50.9951690 − 18:15:46.6805900
    expect(requests[1]?.arrivalMs).toBeCloseTo(4314.579, 3);
    expect(requests[1]).toMatchObject({ inputTokens: 396, outputTokens: 109 });
    expectNonDecreasing(requests);
    // One hour of traffic.
    expect(requests.at(-1)?.arrivalMs).toBeGreaterThan(55 * 60_000);
    expect(requests.at(-1)?.arrivalMs).toBeLessThan(61 * 60_000);
  });
});

describe('parseAzureTrace on bad input', () => {
  const good = '2023-11-16 18:17:03.9799600,4808,10';
  const badRows: readonly (readonly [string, string])[] = [
    ['2023-11-16 18:17:04.0,1,2,3', 'expected 3 columns'],
    ['2023-11-16 18:17:04.0,1', 'expected 3 columns'],
    ['16/11/2023 18:17:04,1,2', 'bad timestamp "16/11/2023 18:17:04"'],
    ['2023-13-45 18:17:04.0,1,2', 'bad timestamp "2023-13-45 18:17:04.0"'],
    ['2023-11-16 18:17:04.0,-1,2', 'token counts must be non-negative integers'],
    ['2023-11-16 18:17:04.0,1.5,2', 'token counts must be non-negative integers'],
    ['2023-11-16 18:17:04.0,,2', 'token counts must be non-negative integers'],
    ['2023-11-16 18:17:04.0,1,x', 'token counts must be non-negative integers'],
  ];

  it.each(badRows)('rejects %j with file:line: reason', (row, reason) => {
    const csv = [HEADER, good, row].join('\n');
    expect(() => parseAzureTrace(csv, 'code.csv')).toThrow(new TraceFormatError(`code.csv:3: ${reason}`));
  });

  it('rejects a missing or different header, whatever the options', () => {
    expect(() => parseAzureTrace(`${good}\n`, 'x.csv')).toThrow(/x\.csv: expected header/);
    expect(() => parseAzureTrace('', 'x.csv', { skipBadRows: true })).toThrow(TraceFormatError);
  });

  it('skipBadRows leaves bad rows out, reports each one and keeps the good rows', () => {
    const csv = [HEADER, good, ...badRows.map(([row]) => row), '2023-11-16 18:17:05.9799600,7,3', ''].join('\r\n');
    const skipped: SkippedRow[] = [];
    const requests = parseAzureTrace(csv, 'x.csv', { skipBadRows: true, onSkippedRow: (row) => skipped.push(row) });
    expect(requests).toEqual([
      { arrivalMs: 0, inputTokens: 4808, outputTokens: 10 },
      { arrivalMs: 2000, inputTokens: 7, outputTokens: 3 },
    ]);
    expect(skipped).toEqual(badRows.map(([, reason], index) => ({ line: index + 3, reason })));
  });

  it('keeps blank lines out of the rows and zero-output rows in', () => {
    const csv = [HEADER, '', good, '   ', '2023-11-16 18:17:03.9799600,5,0'].join('\n');
    expect(parseAzureTrace(csv)).toEqual([
      { arrivalMs: 0, inputTokens: 4808, outputTokens: 10 },
      { arrivalMs: 0, inputTokens: 5, outputTokens: 0 },
    ]);
  });
});
