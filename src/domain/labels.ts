/**
 * Labels on workflows and label selectors, with the rules and the grammar of Kubernetes, so that
 * people who write `-l team=data,tier!=web` there can write it here.
 *
 * A label key is an optional prefix (a DNS subdomain of at most 253 characters) and a slash, then
 * a name of at most 63 characters: alphanumerics with `-`, `_` and `.` inside. A value is empty or
 * follows the name's rule. Keys under `chronoverse.io/` are ours, but users may set them (the
 * command line marks what it manages with `chronoverse.io/managed-by=cli`).
 *
 * A selector is requirements separated by commas, all of which must hold:
 *   `key=value`, `key==value`   the label is present with that value
 *   `key!=value`                absent, or present with another value
 *   `key in (a,b)`              present with one of the values
 *   `key notin (a,b)`           absent, or present with none of them
 *   `key`                       present
 *   `!key`                      absent
 * The empty selector selects everything.
 */
import { z } from 'zod';

export type Labels = Record<string, string>;

export const LABELS_MAX = 64;
export const MANAGED_BY_LABEL = 'chronoverse.io/managed-by';

const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;

/** What is wrong with `key` as a label key, or null. */
export function labelKeyProblem(key: string): string | null {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : null;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== null) {
    if (prefix.length === 0) return 'must not start with "/"';
    if (prefix.length > 253) return 'must have a prefix of at most 253 characters';
    if (!DNS_SUBDOMAIN.test(prefix)) {
      return 'must have a prefix that is a DNS subdomain (lowercase letters, digits, "-" and ".", such as "example.com")';
    }
  }
  if (name.length === 0) return 'must have a name';
  if (name.length > 63) return 'must have a name of at most 63 characters';
  if (!NAME.test(name)) {
    return 'must have a name of letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
  }
  return null;
}

/** What is wrong with `value` as a label value, or null. */
export function labelValueProblem(value: string): string | null {
  if (value === '') return null;
  if (value.length > 63) return 'must be at most 63 characters';
  if (!NAME.test(value)) {
    return 'must be empty or letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
  }
  return null;
}

/** `labels` of workflow bodies: every bad key and value reported under `labels.<key>`. */
export const LabelsSchema = z
  .record(z.string(), z.string())
  .superRefine((labels, ctx) => {
    const keys = Object.keys(labels);
    if (keys.length > LABELS_MAX) {
      ctx.addIssue({ code: 'custom', message: `must have at most ${LABELS_MAX} labels` });
    }
    for (const key of keys) {
      const keyProblem = labelKeyProblem(key);
      if (keyProblem) ctx.addIssue({ code: 'custom', path: [key], message: `key ${keyProblem}` });
      const valueProblem = labelValueProblem(labels[key]!);
      if (valueProblem) ctx.addIssue({ code: 'custom', path: [key], message: `value ${valueProblem}` });
    }
  })
  .describe(
    'Labels as in Kubernetes: keys `[prefix/]name` (name up to 63 characters of letters, digits, `-`, `_`, `.`; ' +
      'prefix a DNS subdomain), values empty or like a name; at most 64.',
  )
  .meta({ id: 'Labels', examples: [{ team: 'data', tier: 'batch' }] });

// ─── selectors ───────────────────────────────────────────────────────────────────────────────

export const SELECTOR_OPERATORS = ['=', '!=', 'in', 'notin', 'exists', '!exists'] as const;
export type SelectorOperator = (typeof SELECTOR_OPERATORS)[number];

export type LabelRequirement =
  | { key: string; op: '=' | '!='; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!exists' };

export type ParsedSelector = { ok: true; requirements: LabelRequirement[] } | { ok: false; message: string };

export const SELECTOR_MAX_LENGTH = 4096;

/**
 * Parses a label selector. Errors name the requirement and what is wrong with it, such as
 * `"tier!" : key must have a name of letters…` or `expected ")" after the values of "env in (a"`.
 */
export function parseLabelSelector(text: string): ParsedSelector {
  if (text.length > SELECTOR_MAX_LENGTH) {
    return { ok: false, message: `must be at most ${SELECTOR_MAX_LENGTH} characters` };
  }
  const requirements: LabelRequirement[] = [];
  let i = 0;
  const skipSpaces = () => {
    while (i < text.length && text[i] === ' ') i++;
  };
  const fail = (message: string): ParsedSelector => ({ ok: false, message });
  const readWord = () => {
    const start = i;
    while (i < text.length && !' ,=!()'.includes(text[i]!)) i++;
    return text.slice(start, i);
  };
  const checkKey = (key: string): string | null => {
    if (key === '') return 'expected a label key';
    const problem = labelKeyProblem(key);
    return problem ? `"${key}": key ${problem}` : null;
  };
  const checkValue = (key: string, value: string): string | null => {
    const problem = labelValueProblem(value);
    return problem ? `"${key}": value "${value}" ${problem}` : null;
  };

  skipSpaces();
  if (i === text.length) return { ok: true, requirements };
  for (;;) {
    skipSpaces();
    if (text[i] === '!') {
      i++;
      skipSpaces();
      const key = readWord();
      const problem = checkKey(key);
      if (problem) return fail(problem);
      requirements.push({ key, op: '!exists' });
    } else {
      const key = readWord();
      const problem = checkKey(key);
      if (problem) return fail(problem);
      skipSpaces();
      if (text.startsWith('!=', i) || text[i] === '=') {
        const op = text[i] === '!' ? '!=' : '=';
        i += text.startsWith('==', i) || op === '!=' ? 2 : 1;
        skipSpaces();
        const value = readWord();
        const valueProblem = checkValue(key, value);
        if (valueProblem) return fail(valueProblem);
        requirements.push({ key, op, value });
      } else if (/^(in|notin)\s*\(/.test(text.slice(i))) {
        const op = text.startsWith('notin', i) ? 'notin' : 'in';
        i += op.length;
        skipSpaces();
        i++; // "("
        const values: string[] = [];
        for (;;) {
          skipSpaces();
          const value = readWord();
          if (value === '') return fail(`expected a value in "${key} ${op} (…)"`);
          const valueProblem = checkValue(key, value);
          if (valueProblem) return fail(valueProblem);
          values.push(value);
          skipSpaces();
          if (text[i] === ',') {
            i++;
            continue;
          }
          if (text[i] === ')') {
            i++;
            break;
          }
          return fail(`expected "," or ")" after the values of "${key} ${op} (…"`);
        }
        requirements.push({ key, op, values: [...new Set(values)] });
      } else {
        requirements.push({ key, op: 'exists' });
      }
    }
    skipSpaces();
    if (i === text.length) break;
    if (text[i] !== ',') {
      return fail(`unexpected "${text.slice(i, i + 10)}": requirements are separated by ","`);
    }
    i++;
  }
  if (requirements.length > 100) return fail('must have at most 100 requirements');
  return { ok: true, requirements };
}

/** Whether `labels` satisfy every requirement (the same rules the database query applies). */
export function matchesSelector(labels: Labels, requirements: readonly LabelRequirement[]): boolean {
  return requirements.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    const value = has ? labels[r.key] : undefined;
    switch (r.op) {
      case '=':
        return has && value === r.value;
      case '!=':
        return !has || value !== r.value;
      case 'in':
        return has && r.values.includes(value!);
      case 'notin':
        return !has || !r.values.includes(value!);
      case 'exists':
        return has;
      case '!exists':
        return !has;
    }
  });
}

/** The canonical text of requirements (parses back to the same requirements). */
export function formatSelector(requirements: readonly LabelRequirement[]): string {
  return requirements
    .map((r) => {
      switch (r.op) {
        case '=':
        case '!=':
          return `${r.key}${r.op}${r.value}`;
        case 'in':
        case 'notin':
          return `${r.key} ${r.op} (${r.values.join(',')})`;
        case 'exists':
          return r.key;
        case '!exists':
          return `!${r.key}`;
      }
    })
    .join(',');
}
