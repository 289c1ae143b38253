import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findMatches, highlight, segmentsFromRanges } from './highlight.ts';

const marked = (text: string, query: string) =>
  highlight(text, query)
    .filter((s) => s.match)
    .map((s) => s.text);

describe('highlight', () => {
  it('matches case-insensitively and keeps the original case', () => {
    expect(highlight('Error: error ERROR', 'error')).toEqual([
      { text: 'Error', match: true },
      { text: ': ', match: false },
      { text: 'error', match: true },
      { text: ' ', match: false },
      { text: 'ERROR', match: true },
    ]);
  });

  it('treats regex special characters literally', () => {
    expect(marked('a.b axb', 'a.b')).toEqual(['a.b']);
    expect(marked('f(x) fx', '(x)')).toEqual(['(x)']);
    expect(marked('100%_done [1] $HOME ^start a*b a+b a?b a|b {1} c:\\dir/x', '[1]')).toEqual(['[1]']);
    for (const q of [
      '$HOME',
      '^start',
      'a*b',
      'a+b',
      'a?b',
      'a|b',
      '{1}',
      'c:\\dir/x',
      '100%_done',
      '-',
      '/',
    ]) {
      expect(marked('100%_done [1] $HOME ^start a*b a+b a?b a|b {1} c:\\dir/x -', q)).toEqual([q]);
    }
    expect(marked('aaa', '.')).toEqual([]);
  });

  it('marks every non-overlapping occurrence, left to right', () => {
    expect(findMatches('aaaa', 'aa')).toEqual([
      [0, 2],
      [2, 4],
    ]);
    expect(findMatches('aaa', 'aa')).toEqual([[0, 2]]);
    expect(marked('abababa', 'aba')).toEqual(['aba', 'aba']);
  });

  it('merges overlapping, unsorted and out-of-range ranges (server highlights)', () => {
    expect(
      segmentsFromRanges('abcdefgh', [
        [5, 7],
        [0, 3],
        [2, 4],
        [6, 99],
        [-3, 0],
      ]),
    ).toEqual([
      { text: 'abcd', match: true },
      { text: 'e', match: false },
      { text: 'fgh', match: true },
    ]);
  });

  it('returns the whole line unmarked for an empty query or no match', () => {
    expect(highlight('hello', '')).toEqual([{ text: 'hello', match: false }]);
    expect(highlight('hello', 'xyz')).toEqual([{ text: 'hello', match: false }]);
    expect(highlight('', 'x')).toEqual([{ text: '', match: false }]);
  });

  it('handles characters outside the BMP', () => {
    expect(marked('deploy 🚀 done 🚀', '🚀')).toEqual(['🚀', '🚀']);
  });

  it('marks occurrences side by side as separate matches (found by the property below)', () => {
    expect(highlight('a__b', '_')).toEqual([
      { text: 'a', match: false },
      { text: '_', match: true },
      { text: '_', match: true },
      { text: 'b', match: false },
    ]);
  });

  it('never loses or repeats text, and marks only case-insensitive equals of the query', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ minLength: 1, maxLength: 4 }), (text, query) => {
        const segments = highlight(text, query);
        expect(segments.map((s) => s.text).join('')).toBe(text);
        for (const s of segments.filter((x) => x.match)) {
          expect(s.text.toLowerCase()).toBe(query.toLowerCase());
        }
      }),
    );
  });
});
