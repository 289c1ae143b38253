/**
 * `apply -f` and `diff -f`: make the server's workflows what the definition files say.
 *
 * Workflows are matched by name among the caller's (names are not unique in the API: two
 * workflows with a file's name is an error naming both ids). For each document, the canonical
 * form of the file, plus the management label `chronoverse.io/managed-by: cli`, is compared with
 * that of the server's workflow: equal is `unchanged` (no request), else `changed` with the
 * unified diff between them, sent as an edit carrying every field (a field the file no longer
 * sets goes back to its default), or `created`. Nothing is sent while any file has a problem:
 * every problem is printed at its file:line:column first. `--prune` then deletes the managed
 * workflows (optionally within a label selector) that no file names any more (terminate, then
 * delete: a workflow with a running job is reported and kept).
 *
 * `diff -f` plans the same and prints the diffs, exiting 1 when there are differences (as
 * `diff(1)` and `kubectl diff` do).
 */
import {
  definitionPathOf,
  MANAGED_BY_CLI,
  type WorkflowDefinitionValues,
} from '../../domain/workflow-definition.ts';
import { MANAGED_BY_LABEL } from '../../domain/labels.ts';
import { ChronoverseApiError, listWorkflows, unwrap, type ChronoverseClient, type Workflow } from './api.ts';
import {
  formatError,
  issueAt,
  loadDefinitions,
  type DefinitionError,
  type LoadedDefinition,
} from './definitions.ts';
import { bodyOfValues, documentYaml, valuesOfWorkflow } from './documents.ts';
import type { Output } from './output.ts';
import { printDiff, unifiedDiff } from './text-diff.ts';

export interface ApplyOptions {
  files: string[];
  dryRun: boolean;
  prune: boolean;
  /** Limits `--prune` to the managed workflows this label selector selects. */
  selector?: string;
}

type Plan =
  | { action: 'create'; def: LoadedDefinition; desired: WorkflowDefinitionValues; diff: string[] }
  | {
      action: 'change';
      def: LoadedDefinition;
      desired: WorkflowDefinitionValues;
      current: Workflow;
      diff: string[];
    }
  | { action: 'unchanged'; def: LoadedDefinition; current: Workflow };

export interface Planned {
  plans: Plan[];
  prune: Workflow[];
  errors: DefinitionError[];
}

const label = (name: string) => `workflow/${name}`;

async function plan(api: ChronoverseClient, options: ApplyOptions): Promise<Planned> {
  const loaded = await loadDefinitions(options.files);
  if (loaded.errors.length > 0) return { plans: [], prune: [], errors: loaded.errors };
  const existing = await listWorkflows(api);
  const byName = new Map<string, Workflow[]>();
  for (const w of existing) byName.set(w.name, [...(byName.get(w.name) ?? []), w]);
  const plans: Plan[] = [];
  const errors: DefinitionError[] = [];
  for (const def of loaded.definitions) {
    const desired = {
      ...def.values,
      labels: { ...def.values.labels, [MANAGED_BY_LABEL]: MANAGED_BY_CLI },
    };
    const after = documentYaml(desired);
    const matches = byName.get(desired.name) ?? [];
    if (matches.length > 1) {
      errors.push({
        ...def.locate(['metadata', 'name']),
        message: `metadata.name: ${matches.length} workflows are named "${desired.name}" (${matches.map((w) => w.id).join(', ')}); rename or delete all but one`,
      });
      continue;
    }
    const current = matches[0];
    if (!current) {
      plans.push({
        action: 'create',
        def,
        desired,
        diff: unifiedDiff('', after, {
          before: '/dev/null',
          after: `${label(desired.name)} (${def.at.file})`,
        }),
      });
      continue;
    }
    if (current.kind !== desired.kind) {
      errors.push({
        ...def.locate(['spec', 'kind']),
        message: `spec.kind cannot change (workflow "${current.name}" is ${current.kind}); delete it first or use another name`,
      });
      continue;
    }
    const diff = unifiedDiff(documentYaml(valuesOfWorkflow(current)), after, {
      before: `${label(current.name)} (server)`,
      after: `${label(desired.name)} (${def.at.file})`,
    });
    plans.push(
      diff.length === 0
        ? { action: 'unchanged', def, current }
        : { action: 'change', def, desired, current, diff },
    );
  }
  let prune: Workflow[] = [];
  if (options.prune) {
    const names = new Set(loaded.definitions.map((d) => d.values.name));
    const managed = `${MANAGED_BY_LABEL}=${MANAGED_BY_CLI}`;
    const selector = options.selector ? `${managed},${options.selector}` : managed;
    prune = (await listWorkflows(api, { labels: selector })).filter((w) => !names.has(w.name));
  }
  return { plans, prune, errors };
}

/** A refused request as errors at the document's places (field errors), or one at its start. */
function refusal(def: LoadedDefinition, err: unknown): DefinitionError[] {
  if (err instanceof ChronoverseApiError && err.problem?.errors?.length) {
    return err.problem.errors.map((e) =>
      issueAt(def.locate, { path: definitionPathOf(e.path), message: e.message }),
    );
  }
  if (err instanceof ChronoverseApiError) return [{ ...def.at, message: err.message }];
  throw err;
}

export async function apply(out: Output, api: ChronoverseClient, options: ApplyOptions): Promise<number> {
  const planned = await plan(api, options);
  if (planned.errors.length > 0) {
    for (const e of planned.errors) out.note(formatError(e));
    out.note(`nothing applied: ${planned.errors.length} problem${planned.errors.length === 1 ? '' : 's'}`);
    return 1;
  }
  const suffix = options.dryRun ? ' (dry run)' : '';
  // A refused document does not stop the others (each is independent); the exit status says so.
  let failures = 0;
  // The body is the document's, checked by the validator the server runs; `never` stands for
  // the per-kind payload type the generated client cannot narrow from `spec.kind`.
  for (const p of planned.plans) {
    const name = label(p.def.values.name);
    try {
      if (p.action === 'create') {
        if (!options.dryRun) {
          unwrap(await api.POST('/api/v1/workflows', { body: bodyOfValues(p.desired, true) as never }));
        }
        out.line(`${name} ${out.paint('green', 'created')}${suffix}`);
      } else if (p.action === 'change') {
        if (!options.dryRun) {
          unwrap(
            await api.PUT('/api/v1/workflows/{id}', {
              params: { path: { id: p.current.id } },
              body: bodyOfValues(p.desired, false) as never,
            }),
          );
        }
        out.line(`${name} ${out.paint('yellow', 'changed')}${suffix}`);
        printDiff(out, p.diff);
      } else {
        out.line(`${name} unchanged`);
      }
    } catch (err) {
      const errors = refusal(p.def, err);
      failures++;
      out.line(`${name} ${out.paint('red', 'failed')}`);
      for (const e of errors) out.note(formatError(e));
    }
  }
  for (const w of planned.prune) {
    const name = label(w.name);
    try {
      if (!options.dryRun) await deleteWorkflow(api, w);
      out.line(`${name} ${out.paint('red', 'pruned')}${suffix}`);
    } catch (err) {
      if (!(err instanceof ChronoverseApiError)) throw err;
      out.line(`${name} ${out.paint('red', 'failed')}`);
      out.note(`${name}: not pruned: ${err.message}`);
      failures++;
    }
  }
  return failures > 0 ? 1 : 0;
}

/** Terminates (cancelling its pending jobs), then deletes, as the API requires. */
export async function deleteWorkflow(api: ChronoverseClient, w: Workflow): Promise<void> {
  if (w.terminated_at === null) {
    unwrap(await api.PATCH('/api/v1/workflows/{id}', { params: { path: { id: w.id } } }));
  }
  const res = await api.DELETE('/api/v1/workflows/{id}', { params: { path: { id: w.id } } });
  if (res.response.status !== 404) unwrap(res);
}

/** `diff -f`: 0 when the server matches the files, 1 when it does not, and the diffs. */
export async function diff(out: Output, api: ChronoverseClient, options: ApplyOptions): Promise<number> {
  const planned = await plan(api, options);
  if (planned.errors.length > 0) {
    for (const e of planned.errors) out.note(formatError(e));
    return 2;
  }
  let differences = 0;
  for (const p of planned.plans) {
    if (p.action === 'unchanged') continue;
    differences++;
    printDiff(out, p.diff);
  }
  for (const w of planned.prune) {
    differences++;
    printDiff(
      out,
      unifiedDiff(documentYaml(valuesOfWorkflow(w)), '', {
        before: `${label(w.name)} (server)`,
        after: '/dev/null',
      }),
    );
  }
  return differences > 0 ? 1 : 0;
}
