/**
 * Templates in the payload of a DAG task (issue 12): `{{tasks.<name>.outputs.<key>}}` is an output
 * of an upstream task, `{{item}}` the item of a `for_each` task instance. Spaces inside the braces
 * are allowed (`{{ item }}`).
 *
 * Where they may appear: the strings a request or a container is made of, never the fields that say
 * what runs or how it is confined.
 *   HEARTBEAT: `endpoint`, header values, `body`.
 *   CONTAINER: `cmd` items, `env` values.
 *
 * Only `{{` followed by `tasks.` or `item` starts a template. Other double braces stay literal,
 * because containers pass Go templates and the like through (`docker inspect -f '{{.State}}'`);
 * a malformed `{{tasks.…}}` is an error rather than text, so a typo is not run silently.
 *
 * Validation happens twice. When the definition is checked, a field holding a template is checked
 * with a stand-in value (a rendered value is not known yet), so every other rule still applies to
 * it. When the run renders the payload, the rendered payload must be checked again with the
 * kind's validator (`validatePayload`), since outputs are whatever an upstream task printed.
 */
import type { FieldIssue } from './errors.ts';
import { joinPath } from './field-issues.ts';
import { validatePayload, type TaskKind, type TaskPayload } from './task-payload.ts';

/** Output keys, as `::output key=value` lines may set them (task-outputs.ts). */
export const OUTPUT_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

export type TemplateReference =
  { kind: 'output'; task: string; key: string; text: string } | { kind: 'item'; text: string };

/** A payload string holding at least one template, with where it is. */
export interface TemplateField {
  /** Path within the payload (`['env', 'TOKEN']`); joined with dots for a field issue. */
  path: string[];
  value: string;
  references: TemplateReference[];
}

// `{{`, optional spaces, then what follows up to the next `}}` (or the end of the text).
const TEMPLATE_START = /\{\{\s*(?=tasks\.|item\b)/g;
const OUTPUT_TEMPLATE = /^tasks\.([a-z0-9][a-z0-9_-]*)\.outputs\.([A-Za-z_][A-Za-z0-9_]*)$/;

/**
 * The templates of one string, or why one of them is malformed. Pure text: whether the task exists
 * and is upstream is the caller's question.
 */
export function templatesIn(
  value: string,
): { ok: true; references: TemplateReference[] } | { ok: false; message: string } {
  const references: TemplateReference[] = [];
  for (const match of value.matchAll(TEMPLATE_START)) {
    const innerStart = match.index + match[0].length;
    const close = value.indexOf('}}', innerStart);
    if (close === -1) {
      return { ok: false, message: `has a template without its closing '}}' at column ${match.index + 1}` };
    }
    const inner = value.slice(innerStart, close).trimEnd();
    const text = value.slice(match.index, close + 2);
    if (inner === 'item') {
      references.push({ kind: 'item', text });
      continue;
    }
    const output = OUTPUT_TEMPLATE.exec(inner);
    if (output === null) {
      return {
        ok: false,
        message: `has '${text}', which is not a template; use {{tasks.<name>.outputs.<key>}} or {{item}}`,
      };
    }
    references.push({ kind: 'output', task: output[1]!, key: output[2]!, text });
  }
  return { ok: true, references };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The strings of a raw payload that may hold templates, each with its path. */
function templatableStrings(
  kind: TaskKind,
  payload: Record<string, unknown>,
): { path: string[]; value: string }[] {
  const out: { path: string[]; value: string }[] = [];
  const add = (path: string[], value: unknown) => {
    if (typeof value === 'string') out.push({ path, value });
  };
  if (kind === 'HEARTBEAT') {
    add(['endpoint'], payload.endpoint);
    add(['body'], payload.body);
    if (isObject(payload.headers)) {
      for (const [name, value] of Object.entries(payload.headers)) {
        if (Array.isArray(value)) value.forEach((v, i) => add(['headers', name, String(i)], v));
        else add(['headers', name], value);
      }
    }
  } else {
    if (Array.isArray(payload.cmd)) payload.cmd.forEach((v, i) => add(['cmd', String(i)], v));
    if (isObject(payload.env))
      for (const [name, value] of Object.entries(payload.env)) add(['env', name], value);
  }
  return out;
}

/** Every string anywhere in a value, with its path (for templates where none may be). */
function allStrings(
  value: unknown,
  path: string[],
  out: { path: string[]; value: string }[],
  depth = 0,
): void {
  if (depth > 32) return;
  if (typeof value === 'string') out.push({ path, value });
  else if (Array.isArray(value)) value.forEach((v, i) => allStrings(v, [...path, String(i)], out, depth + 1));
  else if (isObject(value)) {
    for (const [key, v] of Object.entries(value)) allStrings(v, [...path, key], out, depth + 1);
  }
}

/**
 * The template-bearing fields of a raw task payload, and issues (under `prefix`, the payload's own
 * path) for malformed templates and for templates in fields that may not hold one.
 */
export function findTemplateFields(
  kind: TaskKind,
  payload: Record<string, unknown>,
  prefix: string,
): { fields: TemplateField[]; issues: FieldIssue[] } {
  const fields: TemplateField[] = [];
  const issues: FieldIssue[] = [];
  const allowed = templatableStrings(kind, payload);
  const allowedKeys = new Set(allowed.map((s) => s.path.join('\u0000')));
  for (const { path, value } of allowed) {
    const found = templatesIn(value);
    if (!found.ok) issues.push({ path: joinPath(prefix, path.join('.')), message: found.message });
    else if (found.references.length > 0) fields.push({ path, value, references: found.references });
  }
  const everywhere: { path: string[]; value: string }[] = [];
  allStrings(payload, [], everywhere);
  for (const { path, value } of everywhere) {
    if (allowedKeys.has(path.join('\u0000'))) continue;
    const found = templatesIn(value);
    if (!found.ok || found.references.length > 0) {
      issues.push({
        path: joinPath(prefix, path.join('.')),
        message:
          kind === 'HEARTBEAT'
            ? 'cannot hold a template; templates go in endpoint, header values and body'
            : 'cannot hold a template; templates go in cmd items and env values',
      });
    }
  }
  return { fields, issues };
}

/**
 * A copy (the payload itself when it has no template) of a raw payload with each template-bearing field replaced by a value its kind's
 * validator accepts, so that the payload's other rules can be checked before any output exists.
 */
export function withStandIns(
  kind: TaskKind,
  payload: Record<string, unknown>,
  fields: readonly TemplateField[],
): Record<string, unknown> {
  if (fields.length === 0) return payload;
  const copy = structuredClone(payload);
  for (const field of fields) {
    // An endpoint must be a URL; every other templatable field accepts any short one-line text.
    const standIn = kind === 'HEARTBEAT' && field.path[0] === 'endpoint' ? 'https://template.invalid/' : 'x';
    setAt(copy, field.path, standIn);
  }
  return copy;
}

/** Puts the template-bearing strings back into a validated payload (the validator kept those fields as given). */
export function withTemplatesRestored<T>(validated: T, fields: readonly TemplateField[]): T {
  if (fields.length === 0) return validated;
  const copy = structuredClone(validated) as unknown as Record<string, unknown>;
  for (const field of fields) setAt(copy, field.path, field.value);
  return copy as unknown as T;
}

function setAt(target: Record<string, unknown>, path: readonly string[], value: string): void {
  let node: unknown = target;
  for (const segment of path.slice(0, -1)) {
    node = Array.isArray(node) ? node[Number(segment)] : (node as Record<string, unknown>)[segment];
  }
  const last = path[path.length - 1]!;
  if (Array.isArray(node)) node[Number(last)] = value;
  else (node as Record<string, unknown>)[last] = value;
}

/**
 * Issues for references a task may not make: an output of a task that is not upstream of it
 * (`upstream` is the transitive set), or `{{item}}` outside a `for_each` task.
 */
export function checkReferences(
  fields: readonly TemplateField[],
  context: {
    task: string;
    upstream: ReadonlySet<string>;
    hasForEach: boolean;
    /** Tasks with `for_each`: their outputs are per instance, so no single value to read. */
    fanOuts: ReadonlySet<string>;
    prefix: string;
  },
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const field of fields) {
    const path = joinPath(context.prefix, field.path.join('.'));
    for (const reference of field.references) {
      if (reference.kind === 'item') {
        if (!context.hasForEach) {
          issues.push({
            path,
            message: `uses ${reference.text}, but task '${context.task}' has no for_each`,
          });
        }
      } else if (!context.upstream.has(reference.task)) {
        issues.push({ path, message: notUpstreamMessage(reference.text, reference.task, context.task) });
      } else if (context.fanOuts.has(reference.task)) {
        issues.push({ path, message: fanOutOutputMessage(reference.text, reference.task) });
      }
    }
  }
  return issues;
}

export function notUpstreamMessage(reference: string, task: string, reader: string): string {
  return `refers to ${reference}, but task '${task}' is not upstream of '${reader}' (add it to depends_on or depends)`;
}

export function fanOutOutputMessage(reference: string, task: string): string {
  return `refers to ${reference}, but task '${task}' has for_each: each of its instances has its own outputs`;
}

// ─── rendering ───────────────────────────────────────────────────────────────────────────────

/** A task's outputs: strings from `::output` lines, any JSON value from an outputs file or a heartbeat body. */
export type TaskOutputs = Readonly<Record<string, unknown>>;

export interface RenderContext {
  /** The outputs of every finished upstream task, by task name. */
  outputs: ReadonlyMap<string, TaskOutputs>;
  /** The item of this instance of a `for_each` task; absent otherwise. */
  item?: unknown;
}

export type RenderProblem =
  | { kind: 'missing_output'; reference: string; task: string; key: string; path: string }
  | { kind: 'missing_item'; reference: string; path: string }
  /** The rendered payload broke its kind's rules (an output made the endpoint no URL, …). */
  | { kind: 'invalid_rendered'; issues: FieldIssue[] };

export type Rendered<T> = { ok: true; value: T } | { ok: false; problem: RenderProblem };

/** A value as it reads inside a string: strings as they are, anything else as JSON. */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * One string with its templates replaced. `path` only labels a problem. Rendering is a single
 * pass: a rendered output that itself looks like a template stays as it is.
 */
export function renderString(value: string, context: RenderContext, path = ''): Rendered<string> {
  const found = templatesIn(value);
  // A definition that passed validation has only well-formed templates; this keeps malformed text as is.
  if (!found.ok || found.references.length === 0) return { ok: true, value };
  let out = '';
  let rest = value;
  for (const reference of found.references) {
    let replacement: string;
    if (reference.kind === 'item') {
      if (!('item' in context))
        return { ok: false, problem: { kind: 'missing_item', reference: reference.text, path } };
      replacement = asText(context.item);
    } else {
      const outputs = context.outputs.get(reference.task);
      if (outputs === undefined || !Object.hasOwn(outputs, reference.key)) {
        return {
          ok: false,
          problem: {
            kind: 'missing_output',
            reference: reference.text,
            task: reference.task,
            key: reference.key,
            path,
          },
        };
      }
      replacement = asText(outputs[reference.key]);
    }
    const at = rest.indexOf(reference.text);
    out += rest.slice(0, at) + replacement;
    rest = rest.slice(at + reference.text.length);
  }
  return { ok: true, value: out + rest };
}

/**
 * A task payload (as validated, templates kept) with every template field rendered. The result
 * must be validated again with the kind's validator before it runs (see the note at the top).
 */
export function renderPayload<T>(kind: TaskKind, payload: T, context: RenderContext): Rendered<T> {
  const copy = structuredClone(payload) as unknown as Record<string, unknown>;
  for (const { path, value } of templatableStrings(kind, copy)) {
    const rendered = renderString(value, context, path.join('.'));
    if (!rendered.ok) return rendered;
    if (rendered.value !== value) setAt(copy, path, rendered.value);
  }
  return { ok: true, value: copy as unknown as T };
}

/** A problem of rendering as one sentence for the task's error. */
export function renderProblemMessage(problem: RenderProblem): string {
  switch (problem.kind) {
    case 'missing_output':
      return `${problem.path}: ${problem.reference} has no value: task '${problem.task}' set no output '${problem.key}'`;
    case 'missing_item':
      return `${problem.path}: ${problem.reference} is used outside a for_each instance`;
    case 'invalid_rendered':
      return `the payload after templates were filled in is invalid: ${problem.issues
        .map((i) => `${i.path} ${i.message}`)
        .join('; ')}`;
  }
}

/**
 * The payload a task instance runs: rendered, then checked again by its kind's validator (paths
 * start with `payload`), since outputs are whatever an upstream task printed. A payload without
 * templates comes back as it is, unchecked: it was validated with the definition.
 */
export function renderTaskPayload(
  kind: TaskKind,
  payload: TaskPayload,
  templateFields: readonly TemplateField[],
  context: RenderContext,
): Rendered<TaskPayload> {
  if (templateFields.length === 0) return { ok: true, value: payload };
  const rendered = renderPayload(kind, payload, context);
  if (!rendered.ok) return rendered;
  const checked = validatePayload(kind, rendered.value);
  if (!checked.ok) return { ok: false, problem: { kind: 'invalid_rendered', issues: checked.issues } };
  return checked;
}
