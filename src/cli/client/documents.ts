/**
 * Server workflows as definition documents (src/domain/workflow-definition.ts): the values a
 * workflow object stands for, and the YAML text of canonical documents, which `apply` and `diff`
 * compare and `export` prints.
 */
import {
  canonicalDefinition,
  scheduleInputOf,
  type WorkflowDefinitionValues,
} from '../../domain/workflow-definition.ts';
import type { Workflow } from './api.ts';
import { toYaml } from './output.ts';

export function valuesOfWorkflow(w: Workflow): WorkflowDefinitionValues {
  return {
    name: w.name,
    labels: w.labels,
    kind: w.kind,
    payload: w.payload,
    schedule: w.schedule,
    max_consecutive_job_failures_allowed: w.max_consecutive_job_failures_allowed,
    pause_on_failure: w.pause_on_failure,
    log_retention: w.log_retention,
  };
}

export function documentYaml(values: WorkflowDefinitionValues, options: { exported?: boolean } = {}): string {
  return toYaml(canonicalDefinition(values, options));
}

/** Several documents as one YAML stream (`---` between them). */
export function documentsYaml(texts: string[]): string {
  return texts.join('---\n');
}

/** The `POST /workflows` (`kind` included) or `PUT /workflows/{id}` body of `values`: every field, so an edit resets what a file no longer says. */
export function bodyOfValues(values: WorkflowDefinitionValues, withKind: boolean) {
  return {
    name: values.name,
    ...(withKind ? { kind: values.kind } : {}),
    labels: values.labels,
    payload: values.payload,
    schedule: scheduleInputOf(values.schedule, { explicit: true }),
    max_consecutive_job_failures_allowed: values.max_consecutive_job_failures_allowed,
    pause_on_failure: values.pause_on_failure,
    log_retention: values.log_retention,
  };
}
