/**
 * Workflow versions (issue 12, docs/api.md "Versions"): the rules that need no database. Pure.
 *
 * A version is an immutable snapshot of what shapes a run: kind, payload, schedule and the options
 * that act on runs. The database computes the snapshot (the SQL function workflow_definition(),
 * migration 0020) so that the backfill and the service agree on "same definition"; this module reads
 * the body of a run request that names a version, and says what changed between two snapshots.
 */
import type { FieldIssue } from './errors.ts';

/** The largest version number the API takes (PostgreSQL's int). */
export const VERSION_MAX = 2_147_483_647;

/** At most this many changed fields are named; a longer list ends with `…`. */
export const CHANGES_MAX = 10;

export type RunVersionInput = { ok: true; version: number | null } | { ok: false; issues: FieldIssue[] };

/**
 * The body of `POST /workflows/{id}/jobs/schedule`: absent, `{}`, or `{ version }` with a positive
 * integer (absent or null: the current version). Whether the version exists is the service's check.
 */
export function validateRunVersionInput(body: unknown): RunVersionInput {
  if (body === undefined || body === null) return { ok: true, version: null };
  if (typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, issues: [{ path: '', message: 'body must be a JSON object' }] };
  }
  const issues: FieldIssue[] = [];
  for (const key of Object.keys(body)) {
    if (key !== 'version') issues.push({ path: key, message: 'is not a known field' });
  }
  const raw = (body as { version?: unknown }).version;
  if (raw !== undefined && raw !== null && !isVersionNumber(raw)) {
    issues.push({ path: 'version', message: `must be an integer from 1 to ${VERSION_MAX}` });
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, version: raw === undefined || raw === null ? null : (raw as number) };
}

export function isVersionNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= VERSION_MAX;
}

/** A version number from a path segment (`/versions/{n}`), or null when it is not one. */
export function parseVersionParam(text: string): number | null {
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return null;
  const n = Number(text);
  return n <= VERSION_MAX ? n : null;
}

/**
 * The dotted paths at which two JSON values differ, in a stable order (keys sorted, arrays by index),
 * at most CHANGES_MAX of them (then a last `…`). An array whose length changed is named as a whole.
 * Used for a version's one-line "what changed" against the version before it.
 */
export function changedFields(before: unknown, after: unknown): string[] {
  const out: string[] = [];
  const visit = (a: unknown, b: unknown, path: string): void => {
    if (out.length > CHANGES_MAX) return;
    if (isPlainObject(a) && isPlainObject(b)) {
      const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
      for (const key of keys) visit(a[key], b[key], path === '' ? key : `${path}.${key}`);
      return;
    }
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
      a.forEach((item, i) => visit(item, b[i], path === '' ? String(i) : `${path}.${i}`));
      return;
    }
    if (!sameJson(a, b)) out.push(path);
  };
  visit(before, after, '');
  return out.length > CHANGES_MAX ? [...out.slice(0, CHANGES_MAX), '…'] : out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Equal as JSON: absent and null are the same (a stored null and an absent key say the same). */
function sameJson(a: unknown, b: unknown): boolean {
  if ((a === undefined || a === null) && (b === undefined || b === null)) return true;
  if (isPlainObject(a) && isPlainObject(b)) return changedFields(a, b).length === 0;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => sameJson(item, b[i]));
  }
  return a === b;
}
