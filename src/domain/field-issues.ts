import type { z } from 'zod';
import type { FieldIssue } from './errors.ts';

/** Zod issues → our field issues, with dotted paths under `prefix` and one entry per unknown key. */
export function fieldIssuesFromZod(issues: readonly z.core.$ZodIssue[], prefix = ''): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of issues) {
    const base = joinPath(prefix, issue.path.map(String).join('.'));
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: joinPath(base, key), message: 'is not a known field' });
    } else if (issue.code === 'invalid_key' && issue.issues.length > 0) {
      // A record key that broke the key schema: its own message says what a key must look like.
      out.push({ path: base, message: `name ${issue.issues[0]!.message}` });
    } else {
      out.push({ path: base, message: issue.message });
    }
  }
  return out;
}

export function joinPath(prefix: string, path: string): string {
  if (prefix === '') return path;
  if (path === '') return prefix;
  return `${prefix}.${path}`;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Strings PostgreSQL cannot store (NUL characters, unpaired UTF-16 surrogates) and object keys
 * that JavaScript objects cannot hold (`__proto__`), anywhere in `value`, as field issues. Checked
 * before the database sees them so the answer names the field instead of a generic 400.
 */
export function unstorableValues(value: unknown, prefix = ''): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const visit = (node: unknown, path: string, depth: number) => {
    if (depth > 64) return;
    if (typeof node === 'string') {
      if (node.includes('\u0000')) issues.push({ path, message: 'must not contain NUL characters' });
      else if (LONE_SURROGATE.test(node)) issues.push({ path, message: 'must be valid Unicode text' });
    } else if (Array.isArray(node)) {
      node.forEach((item, i) => visit(item, joinPath(path, String(i)), depth + 1));
    } else if (typeof node === 'object' && node !== null) {
      for (const key of Object.keys(node)) {
        const childPath = joinPath(path, key);
        if (key === '__proto__') issues.push({ path: childPath, message: 'is not an allowed name' });
        else if (key.includes('\u0000') || LONE_SURROGATE.test(key)) {
          issues.push({ path: childPath, message: 'name must be valid text without NUL characters' });
        }
        visit((node as Record<string, unknown>)[key], childPath, depth + 1);
      }
    }
  };
  visit(value, prefix, 0);
  return issues;
}
