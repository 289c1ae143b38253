/** WorkflowsApi over RPC: the same objects WorkflowsService returns, the same errors it throws. */
import { createClient, type Client, type Transport } from '@connectrpc/connect';
import {
  BuildStatusSchema,
  WorkflowKindSchema,
  WorkflowsService,
} from '../../gen/chronoverse/workflows/v1/workflows_pb.js';
import { rpcCall } from '../../platform/rpc/call.ts';
import { toEnum } from '../../platform/rpc/codec.ts';
import type { IdempotentResult } from '../idempotency.ts';
import type { WorkflowsApi } from './api.ts';
import type { FireTimeView, WorkflowView } from './codec.ts';
import type { WorkflowListFilters } from './service.ts';
import {
  bodyToWire,
  previewFromWire,
  resultFromWire,
  resultsFromWire,
  ticksFromWire,
  versionFromWire,
  workflowFromWire,
} from './wire.ts';
import type { WorkflowVersionView } from './versions.ts';
import type { TicksPage, TicksQuery } from '../ticks/ledger.ts';
import type { BackfillCreated, BackfillView } from '../backfills/service.ts';
import { backfillFromWire, createdFromWire } from '../backfills/wire.ts';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { ValidationError } from '../../domain/errors.ts';
import { parsePreviewFrom } from '../../domain/schedule-preview.ts';

export class WorkflowsClient implements WorkflowsApi {
  readonly #rpc: Client<typeof WorkflowsService>;
  readonly #call = rpcCall('workflows');

  constructor(transport: Transport) {
    this.#rpc = createClient(WorkflowsService, transport);
  }

  create(userId: string, body: unknown, idempotencyKey?: string): Promise<IdempotentResult<WorkflowView>> {
    return this.#call(async () =>
      resultFromWire(await this.#rpc.createWorkflow({ userId, bodyJson: bodyToWire(body), idempotencyKey })),
    );
  }

  createMany(
    userId: string,
    body: unknown,
    idempotencyKey?: string,
  ): Promise<IdempotentResult<WorkflowView[]>> {
    return this.#call(async () =>
      resultsFromWire(
        await this.#rpc.createWorkflows({ userId, bodyJson: bodyToWire(body), idempotencyKey }),
      ),
    );
  }

  list(
    userId: string,
    f: WorkflowListFilters,
  ): Promise<{ workflows: WorkflowView[]; cursor: string | null }> {
    return this.#call(async () => {
      const res = await this.#rpc.listWorkflows({
        userId,
        limit: f.limit,
        cursor: f.cursor,
        query: f.query,
        kind: f.kind !== undefined ? toEnum(WorkflowKindSchema, f.kind) : undefined,
        buildStatus: f.build_status !== undefined ? toEnum(BuildStatusSchema, f.build_status) : undefined,
        terminated: f.terminated,
        intervalMin: f.interval_min,
        intervalMax: f.interval_max,
        labelSelector: f.labels,
      });
      return { workflows: res.workflows.map(workflowFromWire), cursor: res.cursor ?? null };
    });
  }

  get(userId: string, workflowId: string): Promise<WorkflowView> {
    return this.#call(async () =>
      workflowFromWire((await this.#rpc.getWorkflow({ userId, workflowId })).workflow),
    );
  }

  update(
    userId: string,
    workflowId: string,
    body: unknown,
    idempotencyKey?: string,
  ): Promise<IdempotentResult<WorkflowView>> {
    return this.#call(async () =>
      resultFromWire(
        await this.#rpc.updateWorkflow({ userId, workflowId, bodyJson: bodyToWire(body), idempotencyKey }),
      ),
    );
  }

  terminate(userId: string, workflowId: string): Promise<WorkflowView> {
    return this.#call(async () =>
      workflowFromWire((await this.#rpc.terminateWorkflow({ userId, workflowId })).workflow),
    );
  }

  rebuild(
    userId: string,
    workflowId: string,
    idempotencyKey?: string,
  ): Promise<IdempotentResult<WorkflowView>> {
    return this.#call(async () =>
      resultFromWire(await this.#rpc.rebuildWorkflow({ userId, workflowId, idempotencyKey })),
    );
  }

  delete(userId: string, workflowId: string): Promise<void> {
    return this.#call(async () => void (await this.#rpc.deleteWorkflow({ userId, workflowId })));
  }

  pause(userId: string, workflowId: string, body: unknown): Promise<WorkflowView> {
    return this.#call(async () =>
      workflowFromWire(
        (await this.#rpc.pauseWorkflow({ userId, workflowId, bodyJson: bodyToWire(body) })).workflow,
      ),
    );
  }

  resume(userId: string, workflowId: string): Promise<WorkflowView> {
    return this.#call(async () =>
      workflowFromWire((await this.#rpc.resumeWorkflow({ userId, workflowId })).workflow),
    );
  }

  preview(
    userId: string,
    workflowId: string,
    query: { count: number; from?: string },
  ): Promise<{ fire_times: FireTimeView[] }> {
    return this.#call(async () => {
      // A Timestamp cannot carry a malformed date: refused here as the service refuses it.
      const from = query.from === undefined ? undefined : parsePreviewFrom(query.from);
      if (from === null) throw ValidationError.single('from', 'must be an RFC 3339 date-time with an offset');
      return previewFromWire(
        await this.#rpc.previewWorkflow({
          userId,
          workflowId,
          count: query.count,
          ...(from !== undefined ? { from: timestampFromDate(from) } : {}),
        }),
      );
    });
  }

  ticks(userId: string, workflowId: string, query: TicksQuery): Promise<TicksPage> {
    return this.#call(async () =>
      ticksFromWire(
        await this.#rpc.listTicks({
          userId,
          workflowId,
          limit: query.limit,
          ...(query.from !== undefined ? { from: query.from } : {}),
          ...(query.to !== undefined ? { to: query.to } : {}),
          ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
        }),
      ),
    );
  }

  previewSchedule(userId: string, body: unknown): Promise<{ fire_times: FireTimeView[] }> {
    return this.#call(async () =>
      previewFromWire(await this.#rpc.previewSchedule({ userId, bodyJson: bodyToWire(body) })),
    );
  }

  listVersions(
    userId: string,
    workflowId: string,
    page: { cursor?: string; limit: number },
  ): Promise<{ versions: WorkflowVersionView[]; cursor: string | null }> {
    return this.#call(async () => {
      const res = await this.#rpc.listWorkflowVersions({
        userId,
        workflowId,
        limit: page.limit,
        cursor: page.cursor,
      });
      return { versions: res.versions.map(versionFromWire), cursor: res.cursor ?? null };
    });
  }

  getVersion(userId: string, workflowId: string, version: number): Promise<WorkflowVersionView> {
    return this.#call(async () =>
      versionFromWire((await this.#rpc.getWorkflowVersion({ userId, workflowId, version })).version),
    );
  }

  restoreVersion(
    userId: string,
    workflowId: string,
    version: number,
    idempotencyKey?: string,
  ): Promise<IdempotentResult<WorkflowView>> {
    return this.#call(async () =>
      resultFromWire(await this.#rpc.restoreWorkflowVersion({ userId, workflowId, version, idempotencyKey })),
    );
  }

  backfill(userId: string, workflowId: string, body: unknown): Promise<BackfillCreated> {
    return this.#call(async () =>
      createdFromWire(await this.#rpc.createBackfill({ userId, workflowId, bodyJson: bodyToWire(body) })),
    );
  }

  listBackfills(
    userId: string,
    workflowId: string,
    page: { cursor?: string; limit: number },
  ): Promise<{ backfills: BackfillView[]; cursor: string | null }> {
    return this.#call(async () => {
      const res = await this.#rpc.listBackfills({
        userId,
        workflowId,
        limit: page.limit,
        cursor: page.cursor,
      });
      return { backfills: res.backfills.map(backfillFromWire), cursor: res.cursor ?? null };
    });
  }

  getBackfill(userId: string, workflowId: string, backfillId: string): Promise<BackfillView> {
    return this.#call(async () =>
      backfillFromWire((await this.#rpc.getBackfill({ userId, workflowId, backfillId })).backfill),
    );
  }

  cancelBackfill(userId: string, workflowId: string, backfillId: string): Promise<BackfillView> {
    return this.#call(async () =>
      backfillFromWire((await this.#rpc.cancelBackfill({ userId, workflowId, backfillId })).backfill),
    );
  }
}
