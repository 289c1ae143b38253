/**
 * What the gateway needs of the workflows service. `WorkflowsService` implements it in process;
 * the generic adapter over its .proto (src/platform/rpc/service-adapter.ts) over RPC, returning
 * the very same objects (./bulk.ts: its one override).
 */
import type { IdempotentResult } from '../idempotency.ts';
import type { FireTimeView, WorkflowView } from './codec.ts';
import type { WorkflowListFilters } from './service.ts';
import type { WorkflowVersionView } from './versions.ts';
import type { TicksPage, TicksQuery } from '../ticks/ledger.ts';
import type { BackfillCreated, BackfillView } from '../backfills/service.ts';

export interface WorkflowsApi {
  /** `body` is the request body as received (validated by the service). */
  create(userId: string, body: unknown, idempotencyKey?: string): Promise<IdempotentResult<WorkflowView>>;
  /**
   * POST /workflows/bulk: `body` is `{ workflows: [...] }` as received; all created (201, in the
   * request's order) or none (400 naming every bad item by index and field).
   */
  createMany(
    userId: string,
    body: unknown,
    idempotencyKey?: string,
  ): Promise<IdempotentResult<WorkflowView[]>>;
  list(
    userId: string,
    filters: WorkflowListFilters,
  ): Promise<{ workflows: WorkflowView[]; cursor: string | null }>;
  get(userId: string, workflowId: string): Promise<WorkflowView>;
  update(
    userId: string,
    workflowId: string,
    body: unknown,
    idempotencyKey?: string,
  ): Promise<IdempotentResult<WorkflowView>>;
  terminate(userId: string, workflowId: string): Promise<WorkflowView>;
  /** Queues a FAILED build again (202); 412 when terminated or the build is not FAILED. */
  rebuild(
    userId: string,
    workflowId: string,
    idempotencyKey?: string,
  ): Promise<IdempotentResult<WorkflowView>>;
  delete(userId: string, workflowId: string): Promise<void>;
  /** `body` is the request body as received (`{ note? }`, validated by the service). */
  pause(userId: string, workflowId: string, body: unknown): Promise<WorkflowView>;
  resume(userId: string, workflowId: string): Promise<WorkflowView>;
  /** GET /workflows/{id}/versions: newest first. */
  listVersions(
    userId: string,
    workflowId: string,
    page: { cursor?: string; limit: number },
  ): Promise<{ versions: WorkflowVersionView[]; cursor: string | null }>;
  /** GET /workflows/{id}/versions/{n}: 404 for an unknown version or another user's workflow. */
  getVersion(userId: string, workflowId: string, version: number): Promise<WorkflowVersionView>;
  /** POST /workflows/{id}/versions/{n}/restore: an edit back to version n (a new version). */
  restoreVersion(
    userId: string,
    workflowId: string,
    version: number,
    idempotencyKey?: string,
  ): Promise<IdempotentResult<WorkflowView>>;
  /** GET /workflows/{id}/preview: `count` 1–100; `from` absent = now. */
  preview(
    userId: string,
    workflowId: string,
    query: { count: number; from?: string },
  ): Promise<{ fire_times: FireTimeView[] }>;
  /** POST /schedules/preview: `body` is `{ schedule, from?, count? }` as received (validated by the service). */
  previewSchedule(userId: string, body: unknown): Promise<{ fire_times: FireTimeView[] }>;
  /** GET /workflows/{id}/ticks: the tick ledger, in nominal order; the query as received (validated by the service). */
  ticks(userId: string, workflowId: string, query: TicksQuery): Promise<TicksPage>;
  /** POST /workflows/{id}/backfill: `body` as received (validated by the service). */
  backfill(userId: string, workflowId: string, body: unknown): Promise<BackfillCreated>;
  /** GET /workflows/{id}/backfills: newest first. */
  listBackfills(
    userId: string,
    workflowId: string,
    page: { cursor?: string; limit: number },
  ): Promise<{ backfills: BackfillView[]; cursor: string | null }>;
  getBackfill(userId: string, workflowId: string, backfillId: string): Promise<BackfillView>;
  /** Cancels its unfinished runs and creates no more; 412 when it completed. */
  cancelBackfill(userId: string, workflowId: string, backfillId: string): Promise<BackfillView>;
}
