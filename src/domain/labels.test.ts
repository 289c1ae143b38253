import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatSelector,
  labelKeyProblem,
  LabelsSchema,
  labelValueProblem,
  matchesSelector,
  parseLabelSelector,
  type LabelRequirement,
} from './labels.ts';

function parse(text: string): LabelRequirement[] {
  const parsed = parseLabelSelector(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.requirements;
}

function problem(text: string): string {
  const parsed = parseLabelSelector(text);
  if (parsed.ok) throw new Error(`"${text}" parsed`);
  return parsed.message;
}

describe('label keys and values', () => {
  it('accepts the keys and values Kubernetes accepts', () => {
    for (const key of [
      'team',
      'a',
      'app.kubernetes.io/name',
      'chronoverse.io/managed-by',
      'A_b-c.d',
      'x'.repeat(63),
    ]) {
      expect(labelKeyProblem(key), key).toBeNull();
    }
    for (const value of ['', 'data', 'v1.2.3', 'A_b-c', 'x'.repeat(63)]) {
      expect(labelValueProblem(value), value).toBeNull();
    }
  });

  it('refuses the ones it refuses, saying what is wrong', () => {
    expect(labelKeyProblem('')).toMatch(/must have a name/);
    expect(labelKeyProblem('-team')).toMatch(/starting and ending with a letter or digit/);
    expect(labelKeyProblem('team-')).toMatch(/starting and ending/);
    expect(labelKeyProblem('x'.repeat(64))).toMatch(/at most 63/);
    expect(labelKeyProblem('/team')).toMatch(/must not start with "\/"/);
    expect(labelKeyProblem('Example.com/team')).toMatch(/DNS subdomain/);
    expect(labelKeyProblem('a/b/c')).toMatch(/must have a name of letters/);
    expect(labelKeyProblem(`${'a'.repeat(254)}/x`)).toMatch(/at most 253/);
    expect(labelKeyProblem('team name')).toMatch(/letters, digits/);
    expect(labelValueProblem('x'.repeat(64))).toMatch(/at most 63/);
    expect(labelValueProblem('a b')).toMatch(/must be empty or letters/);
    expect(labelValueProblem('.hidden')).toMatch(/starting and ending/);
  });

  it('reports every bad key and value of a labels object under its key', () => {
    const parsed = LabelsSchema.safeParse({ ok: 'yes', 'bad key': 'v', good: 'bad value', '-x': '-y' });
    expect(parsed.success).toBe(false);
    const issues = parsed.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues).toEqual([
      expect.stringMatching(/^bad key: key must have a name/),
      expect.stringMatching(/^good: value must be empty or letters/),
      expect.stringMatching(/^-x: key /),
      expect.stringMatching(/^-x: value /),
    ]);
    expect(
      LabelsSchema.safeParse(Object.fromEntries([...Array(65).keys()].map((n) => [`k${n}`, 'v']))).success,
    ).toBe(false);
  });
});

describe('label selectors', () => {
  it('parses every operator of Kubernetes selectors', () => {
    expect(parse('team=data,tier!=web')).toEqual([
      { key: 'team', op: '=', value: 'data' },
      { key: 'tier', op: '!=', value: 'web' },
    ]);
    expect(parse('team==data')).toEqual([{ key: 'team', op: '=', value: 'data' }]);
    expect(parse('gpu, !legacy')).toEqual([
      { key: 'gpu', op: 'exists' },
      { key: 'legacy', op: '!exists' },
    ]);
    expect(parse('env in (prod, staging),tier notin (web)')).toEqual([
      { key: 'env', op: 'in', values: ['prod', 'staging'] },
      { key: 'tier', op: 'notin', values: ['web'] },
    ]);
    expect(parse('chronoverse.io/managed-by=cli')).toEqual([
      { key: 'chronoverse.io/managed-by', op: '=', value: 'cli' },
    ]);
    expect(parse('owner=')).toEqual([{ key: 'owner', op: '=', value: '' }]);
    expect(parse('')).toEqual([]);
    expect(parse('  ')).toEqual([]);
  });

  it('names the requirement and the problem of a bad selector', () => {
    expect(problem('team=data,')).toMatch(/expected a label key/);
    expect(problem('Team Name=x')).toMatch(/requirements are separated by ","/);
    expect(problem('-team=data')).toMatch(/"-team": key must have a name/);
    expect(problem('team=da ta')).toMatch(/unexpected "ta"/);
    expect(problem('team=-data')).toMatch(/"team": value "-data" must be empty or letters/);
    expect(problem('env in (a,b')).toMatch(/expected "," or "\)" after the values of "env in/);
    expect(problem('env in (a,,b)')).toMatch(/expected a value in "env in/);
    expect(problem('env notin ()')).toMatch(/expected a value in "env notin/);
    expect(problem('a=b=c')).toMatch(/unexpected "=c"/);
    expect(problem('x'.repeat(5000))).toMatch(/at most 4096 characters/);
  });

  it('matches as Kubernetes does: != and notin select workflows without the label', () => {
    const labels = { team: 'data', tier: 'batch' };
    const yes = [
      'team=data',
      'team',
      '!gpu',
      'tier!=web',
      'gpu!=yes',
      'tier in (batch,web)',
      'gpu notin (a)',
      '',
    ];
    const no = [
      'team=web',
      'gpu',
      '!team',
      'tier!=batch',
      'tier in (web)',
      'tier notin (batch)',
      'team=data,gpu',
    ];
    for (const s of yes) expect(matchesSelector(labels, parse(s)), s).toBe(true);
    for (const s of no) expect(matchesSelector(labels, parse(s)), s).toBe(false);
    // An empty value is a value: present with "".
    expect(matchesSelector({ owner: '' }, parse('owner='))).toBe(true);
    expect(matchesSelector({}, parse('owner='))).toBe(false);
  });

  it('formats requirements into text that parses back to them', () => {
    const key = fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/);
    const value = fc.stringMatching(/^[a-z0-9]{0,6}$/).filter((v) => v === '' || /^[a-z0-9]/.test(v));
    const requirement: fc.Arbitrary<LabelRequirement> = fc.oneof(
      fc.record({ key, op: fc.constantFrom('=' as const, '!=' as const), value }),
      fc.record({
        key,
        op: fc.constantFrom('in' as const, 'notin' as const),
        values: fc.uniqueArray(
          value.filter((v) => v !== ''),
          { minLength: 1, maxLength: 3 },
        ),
      }),
      fc.record({ key, op: fc.constantFrom('exists' as const, '!exists' as const) }),
    );
    fc.assert(
      fc.property(fc.array(requirement, { maxLength: 5 }), (requirements) => {
        expect(parse(formatSelector(requirements))).toEqual(requirements);
      }),
    );
  });
});
