import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { fieldIssuesFromZod, joinPath, unstorableValues } from './field-issues.ts';

describe('joinPath', () => {
  it('joins with a dot, and an empty side is left out', () => {
    expect(joinPath('a', 'b.c')).toBe('a.b.c');
    expect(joinPath('', 'b')).toBe('b');
    expect(joinPath('a', '')).toBe('a');
    expect(joinPath('', '')).toBe('');
  });
});

describe('fieldIssuesFromZod', () => {
  const schema = z
    .object({
      name: z.string(),
      tags: z.array(z.number()),
      env: z.record(z.string().regex(/^[A-Z]+$/, 'must be upper case'), z.string()),
    })
    .strict();

  it('dotted paths under the prefix, one issue per unknown key, record keys named as such', () => {
    const result = schema.safeParse({ name: 1, tags: [1, 'x'], env: { ok: 'v' }, extra: 1, more: 2 });
    expect(result.success).toBe(false);
    const issues = fieldIssuesFromZod(result.error!.issues, 'payload');
    expect(issues).toEqual([
      { path: 'payload.name', message: 'Invalid input: expected string, received number' },
      { path: 'payload.tags.1', message: 'Invalid input: expected number, received string' },
      { path: 'payload.env.ok', message: 'name must be upper case' },
      { path: 'payload.extra', message: 'is not a known field' },
      { path: 'payload.more', message: 'is not a known field' },
    ]);
  });

  it('without a prefix, paths start at the field and the whole body has an empty path', () => {
    const result = z.object({ a: z.string() }).safeParse(null);
    expect(fieldIssuesFromZod(result.error!.issues)).toEqual([{ path: '', message: expect.any(String) }]);
    const field = z.object({ a: z.string() }).safeParse({ a: 1 });
    expect(fieldIssuesFromZod(field.error!.issues).map((i) => i.path)).toEqual(['a']);
  });
});

describe('unstorableValues', () => {
  it('finds nothing in storable values', () => {
    expect(unstorableValues({ a: ['x', 1, null, { b: 'é😀' }], c: true }, 'payload')).toEqual([]);
  });

  it('names NUL characters and lone surrogates anywhere, under the prefix', () => {
    expect(
      unstorableValues({ a: ['ok', 'x\u0000y'], b: { c: '\uD800' }, d: '\uDC00x', e: 'a\uDBFF' }, 'p'),
    ).toEqual([
      { path: 'p.a.1', message: 'must not contain NUL characters' },
      { path: 'p.b.c', message: 'must be valid Unicode text' },
      { path: 'p.d', message: 'must be valid Unicode text' },
      { path: 'p.e', message: 'must be valid Unicode text' },
    ]);
    expect(unstorableValues('\u0000')).toEqual([{ path: '', message: 'must not contain NUL characters' }]);
  });

  it('names keys that cannot be stored or held, and still looks inside them', () => {
    const value = JSON.parse('{"__proto__": {"x": "\\u0000"}, "k\\u0000": 1, "\\ud800": 2}') as unknown;
    expect(unstorableValues(value)).toEqual([
      { path: '__proto__', message: 'is not an allowed name' },
      { path: '__proto__.x', message: 'must not contain NUL characters' },
      { path: 'k\u0000', message: 'name must be valid text without NUL characters' },
      { path: '\uD800', message: 'name must be valid text without NUL characters' },
    ]);
  });

  it('stops looking below 64 levels', () => {
    let deep: unknown = '\u0000';
    for (let i = 0; i < 64; i++) deep = [deep];
    expect(unstorableValues(deep)).toHaveLength(1);
    expect(unstorableValues([deep])).toEqual([]);
  });
});
