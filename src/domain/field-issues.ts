import type { z } from 'zod';
import type { FieldIssue } from './errors.ts';

/** Zod issues → our field issues, with dotted paths under `prefix` and one entry per unknown key. */
export function fieldIssuesFromZod(issues: readonly z.core.$ZodIssue[], prefix = ''): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of issues) {
    const base = joinPath(prefix, issue.path.map(String).join('.'));
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: joinPath(base, key), message: 'is not a known field' });
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
