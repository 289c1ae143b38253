import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CHANGES_MAX,
  changedFields,
  parseVersionParam,
  validateRunVersionInput,
  VERSION_MAX,
} from './workflow-versions.ts';

describe('validateRunVersionInput', () => {
  it('takes no body, an empty object or a null version as the current version', () => {
    expect(validateRunVersionInput(undefined)).toEqual({ ok: true, version: null });
    expect(validateRunVersionInput({})).toEqual({ ok: true, version: null });
    expect(validateRunVersionInput({ version: null })).toEqual({ ok: true, version: null });
  });

  it('takes a positive integer', () => {
    expect(validateRunVersionInput({ version: 3 })).toEqual({ ok: true, version: 3 });
    expect(validateRunVersionInput({ version: VERSION_MAX })).toEqual({ ok: true, version: VERSION_MAX });
  });

  it.each([0, -1, 1.5, '2', true, VERSION_MAX + 1, [1]])('names `version` for %j', (version) => {
    expect(validateRunVersionInput({ version })).toEqual({
      ok: false,
      issues: [{ path: 'version', message: `must be an integer from 1 to ${VERSION_MAX}` }],
    });
  });

  it('names unknown fields and refuses a body that is not an object', () => {
    expect(validateRunVersionInput({ version: 1, ver: 2 })).toEqual({
      ok: false,
      issues: [{ path: 'ver', message: 'is not a known field' }],
    });
    expect(validateRunVersionInput([1])).toMatchObject({ ok: false, issues: [{ path: '' }] });
  });
});

describe('parseVersionParam', () => {
  it('reads positive integers within int range only', () => {
    expect(parseVersionParam('1')).toBe(1);
    expect(parseVersionParam('42')).toBe(42);
    expect(parseVersionParam(String(VERSION_MAX))).toBe(VERSION_MAX);
    for (const bad of ['0', '-1', '01', '1.0', 'x', '', String(VERSION_MAX + 1), '99999999999']) {
      expect(parseVersionParam(bad), bad).toBeNull();
    }
  });
});

describe('changedFields', () => {
  const v1 = {
    kind: 'HEARTBEAT',
    payload: { endpoint: 'https://a.example/', headers: { a: '1' } },
    schedule_type: 'interval',
    interval_minutes: 5,
    log_retention: true,
  };

  it('is empty for the same definition, whatever the key order', () => {
    const reordered = Object.fromEntries(Object.entries(v1).reverse());
    expect(changedFields(v1, reordered)).toEqual([]);
  });

  it('names the leaf fields that changed, in key order', () => {
    const v2 = {
      ...v1,
      payload: { endpoint: 'https://b.example/', headers: { a: '1', b: '2' } },
      interval_minutes: 10,
    };
    expect(changedFields(v1, v2)).toEqual(['interval_minutes', 'payload.endpoint', 'payload.headers.b']);
  });

  it('treats null and absent alike and names a resized array as a whole', () => {
    expect(changedFields({ a: null }, {})).toEqual([]);
    expect(changedFields({ cmd: ['a', 'b'] }, { cmd: ['a', 'c'] })).toEqual(['cmd.1']);
    expect(changedFields({ cmd: ['a'] }, { cmd: ['a', 'b'] })).toEqual(['cmd']);
  });

  it('caps the list', () => {
    const a = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${String(i).padStart(2, '0')}`, i]));
    const b = Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v + 1]));
    const changes = changedFields(a, b);
    expect(changes).toHaveLength(CHANGES_MAX + 1);
    expect(changes.at(-1)).toBe('…');
  });

  it('is empty exactly when the values are equal as JSON (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        expect(changedFields(a, b).length === 0).toBe(sameIgnoringNulls(a, b));
      }),
    );
  });
});

/** Equal as JSON once null-valued keys are dropped (changedFields treats absent and null alike). */
function sameIgnoringNulls(a: unknown, b: unknown): boolean {
  return JSON.stringify(stripNulls(sortKeys(a))) === JSON.stringify(stripNulls(sortKeys(b)));
}

function stripNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripNulls);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== null)
        .map(([k, x]) => [k, stripNulls(x)]),
    );
  }
  return v;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}
