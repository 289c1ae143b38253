/**
 * The workflow state machine's guards in SQL (src/domain/workflow-status.ts): every UPDATE that
 * changes a workflow's lifecycle names the states its event may leave, from the machine, instead of
 * repeating literals. Zero rows updated means another writer changed the state first.
 */
import { sql, type RawBuilder } from 'kysely';
import { WORKFLOW_FROM, type WorkflowEventType } from '../../domain/workflow-status.ts';

/** `event`'s `from` states as an SQL list, for raw statements: `state IN (${workflowFrom('terminate')})`. */
export function workflowFrom(event: WorkflowEventType): RawBuilder<unknown> {
  return sql.raw(WORKFLOW_FROM[event].map((s) => `'${s}'`).join(', '));
}
