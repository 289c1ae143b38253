import type { Transaction } from 'kysely';
import { NotFoundError } from '../../domain/errors.ts';
import type { DB, WorkflowRow } from '../../platform/db/schema.ts';

/**
 * The caller's workflow, row-locked for the rest of the transaction. Another user's workflow is
 * "not found", never "forbidden": ids of other users' resources are not confirmed.
 */
export async function lockOwnedWorkflow(
  trx: Transaction<DB>,
  userId: string,
  workflowId: string,
): Promise<WorkflowRow> {
  const row = await trx
    .selectFrom('workflows')
    .selectAll()
    .where('id', '=', workflowId)
    .where('user_id', '=', userId)
    .forUpdate()
    .executeTakeFirst();
  if (!row) throw new NotFoundError('Workflow');
  return row;
}
