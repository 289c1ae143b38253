import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';
import {
  containerOutputs,
  heartbeatOutputs,
  outputLine,
  outputsBytes,
  outputsProblemMessage,
  OUTPUTS_MAX_BYTES,
} from './task-outputs.ts';

function runs(n: number): number {
  return inject('fewerPropertyRuns') === true ? Math.ceil(n / 20) : n;
}

describe('outputLine', () => {
  it.each([
    ['::output url=https://x.test/a?b=c', { key: 'url', value: 'https://x.test/a?b=c' }],
    ['::output EMPTY=', { key: 'EMPTY', value: '' }],
    ['::output _k2= spaced = value \r', { key: '_k2', value: ' spaced = value ' }],
    ['::output a==b', { key: 'a', value: '=b' }],
    ['::output x=line\nbreak', { key: 'x', value: 'line\nbreak' }],
  ])('%j → %o', (line, output) => {
    expect(outputLine(line)).toEqual(output);
  });

  it.each([
    ' ::output a=b',
    '::output 1a=b',
    '::output a b=c',
    '::outputa=b',
    '::output =b',
    '::output a',
    'echo ::output a=b',
  ])('%j is not an output line', (line) => {
    expect(outputLine(line)).toBeNull();
  });
});

describe('containerOutputs', () => {
  it('merges lines in order, then the file, which wins', () => {
    expect(
      containerOutputs(
        ['starting', '::output id=1', '::output url=a', 'noise', '::output id=2'],
        '{"url": "b", "list": [1, 2], "nested": {"ok": true}}',
      ),
    ).toEqual({ ok: true, outputs: { id: '2', url: 'b', list: [1, 2], nested: { ok: true } } });
    expect(containerOutputs([], null)).toEqual({ ok: true, outputs: {} });
  });

  it('treats prototype member names as plain keys', () => {
    const result = containerOutputs(['::output __proto__=x', '::output constructor=y'], null);
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(Object.keys(result.outputs).sort()).toEqual(['__proto__', 'constructor']);
      expect(JSON.stringify(result.outputs)).toContain('"__proto__":"x"');
    }
  });

  it.each([
    ['not json', 'is not valid JSON'],
    ['[1, 2]', 'must hold a JSON object of outputs'],
    ['null', 'must hold a JSON object of outputs'],
    [
      '{"bad-key": 1}',
      "has the key 'bad-key', which is not an output name (letters, digits and '_', not starting with a digit)",
    ],
  ])('refuses the file %j', (file, reason) => {
    const result = containerOutputs([], file);
    expect(result).toEqual({ ok: false, problem: { kind: 'invalid_file', reason } });
    if (!result.ok) expect(outputsProblemMessage(result.problem)).toBe(`/chronoverse/outputs.json ${reason}`);
  });

  it('refuses outputs over 64 KiB, from lines or from the file, naming the size', () => {
    const big = 'x'.repeat(OUTPUTS_MAX_BYTES);
    const fromLines = containerOutputs(['::output a=1', `::output b=${big}`, '::output never=read'], null);
    expect(fromLines).toEqual({
      ok: false,
      problem: { kind: 'too_large', bytes: outputsBytes({ a: '1', b: big }), limit: OUTPUTS_MAX_BYTES },
    });
    if (!fromLines.ok) {
      expect(outputsProblemMessage(fromLines.problem)).toBe(
        `outputs are ${OUTPUTS_MAX_BYTES + 16} bytes, over the limit of ${OUTPUTS_MAX_BYTES} bytes (64 KiB) per task`,
      );
    }
    expect(containerOutputs([], JSON.stringify({ b: big })).ok).toBe(false);
    expect(containerOutputs([], ' '.repeat(OUTPUTS_MAX_BYTES * 2 + 1))).toEqual({
      ok: false,
      problem: { kind: 'too_large', bytes: OUTPUTS_MAX_BYTES * 2 + 1, limit: OUTPUTS_MAX_BYTES },
    });
    // Exactly at the limit is allowed: {"a":"…"} is 8 bytes around the value.
    expect(containerOutputs([`::output a=${'y'.repeat(OUTPUTS_MAX_BYTES - 8)}`], null).ok).toBe(true);
    expect(containerOutputs([`::output a=${'y'.repeat(OUTPUTS_MAX_BYTES - 7)}`], null).ok).toBe(false);
    // Multi-byte characters count as their UTF-8 bytes.
    expect(containerOutputs([`::output a=${'é'.repeat(OUTPUTS_MAX_BYTES / 2)}`], null).ok).toBe(false);
  });

  it('stops reading lines at the one that goes over the limit', () => {
    let read = 0;
    function* lines() {
      for (;;) {
        read++;
        yield `::output k${read}=${'z'.repeat(1000)}`;
      }
    }
    expect(containerOutputs(lines(), null).ok).toBe(false);
    expect(read).toBeLessThan(70);
  });
});

describe('heartbeatOutputs', () => {
  it.each([
    [
      { status: 200, contentType: 'application/json; charset=utf-8', body: '{"id": 7}' },
      { status: 200, body: { id: 7 } },
    ],
    [
      { status: 201, contentType: 'application/problem+json', body: '[1]' },
      { status: 201, body: [1] },
    ],
    [{ status: 200, contentType: 'text/html', body: '{"id": 7}' }, { status: 200 }],
    [{ status: 200, contentType: 'application/json', body: 'oops' }, { status: 200 }],
    [{ status: 204, contentType: null, body: null }, { status: 204 }],
  ])('%o → %o', (answer, outputs) => {
    expect(heartbeatOutputs(answer)).toEqual({ ok: true, outputs });
  });

  it('refuses a JSON body over the limit', () => {
    const body = JSON.stringify({ data: 'x'.repeat(OUTPUTS_MAX_BYTES) });
    expect(heartbeatOutputs({ status: 200, contentType: 'application/json', body })).toMatchObject({
      ok: false,
      problem: { kind: 'too_large' },
    });
  });
});

describe('containerOutputs (property)', () => {
  it('equals the outputs of the last line of each key, and refuses exactly when their JSON is over the limit', () => {
    const key = fc.constantFrom('a', 'b', 'c_1', 'D');
    // Short values, and long ones (ASCII or two-byte) so that a few lines cross the limit.
    const value = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc
        .tuple(fc.integer({ min: 8_000, max: 40_000 }), fc.constantFrom('x', 'é', '"'))
        .map(([n, c]) => c.repeat(n)),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(key, value), { maxLength: 6 }), (pairs) => {
        const lines = pairs.map(([k, v]) => `::output ${k}=${v}`).filter((l) => outputLine(l) !== null);
        const result = containerOutputs(lines, null);
        // Reference: fold each prefix of lines and measure with JSON.stringify and TextEncoder.
        let expected: Record<string, string> = {};
        let over: number | null = null;
        for (const line of lines) {
          const { key: k, value: v } = outputLine(line)!;
          expected = { ...expected, [k]: v };
          const size = new TextEncoder().encode(JSON.stringify(expected)).length;
          if (size > OUTPUTS_MAX_BYTES) {
            over = size;
            break;
          }
        }
        if (over === null) expect(result).toEqual({ ok: true, outputs: expected });
        else
          expect(result).toEqual({
            ok: false,
            problem: { kind: 'too_large', bytes: over, limit: OUTPUTS_MAX_BYTES },
          });
      }),
      { numRuns: runs(300) },
    );
  });
});
