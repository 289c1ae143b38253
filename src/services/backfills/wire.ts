/** Backfill views to and from the wire (chronoverse.workflows.v1 Backfill messages). */
import type { MessageInitShape } from '@bufbuild/protobuf';
import { BACKFILL_OVERLAPS, BACKFILL_STATUSES } from '../../domain/backfill.ts';
import type {
  Backfill,
  BackfillSchema,
  CreateBackfillResponse,
  CreateBackfillResponseSchema,
} from '../../gen/chronoverse/workflows/v1/workflows_pb.js';
import {
  fromOptionalTimestamp,
  fromTimestamp,
  required,
  toOptionalTimestamp,
  toTimestamp,
} from '../../platform/rpc/codec.ts';
import { previewFromWire, previewToWire } from '../workflows/wire.ts';
import type { BackfillCreated, BackfillView } from './service.ts';

export function backfillToWire(b: BackfillView): MessageInitShape<typeof BackfillSchema> {
  return {
    id: b.id,
    workflowId: b.workflow_id,
    from: toTimestamp(b.from),
    to: toTimestamp(b.to),
    overlap: b.overlap,
    maxParallel: b.max_parallel,
    status: b.status,
    fireTimes: b.fire_times,
    progress: {
      notCreated: b.progress.not_created,
      waiting: b.progress.waiting,
      running: b.progress.running,
      completed: b.progress.completed,
      failed: b.progress.failed,
      canceled: b.progress.canceled,
    },
    createdAt: toTimestamp(b.created_at),
    ...(b.finished_at !== null ? { finishedAt: toOptionalTimestamp(b.finished_at) } : {}),
  };
}

export function backfillFromWire(m: Backfill | undefined): BackfillView {
  const b = required(m, 'backfill');
  const p = required(b.progress, 'backfill progress');
  return {
    id: b.id,
    workflow_id: b.workflowId,
    from: fromTimestamp(b.from),
    to: fromTimestamp(b.to),
    overlap: oneOf(BACKFILL_OVERLAPS, b.overlap),
    max_parallel: b.maxParallel,
    status: oneOf(BACKFILL_STATUSES, b.status),
    fire_times: b.fireTimes,
    progress: {
      not_created: p.notCreated,
      waiting: p.waiting,
      running: p.running,
      completed: p.completed,
      failed: p.failed,
      canceled: p.canceled,
    },
    created_at: fromTimestamp(b.createdAt),
    finished_at: fromOptionalTimestamp(b.finishedAt),
  };
}

export function createdToWire(c: BackfillCreated): MessageInitShape<typeof CreateBackfillResponseSchema> {
  return c.dry_run
    ? { result: { case: 'dryRun', value: previewToWire(c) } }
    : { result: { case: 'backfill', value: backfillToWire(c.backfill) } };
}

export function createdFromWire(m: CreateBackfillResponse): BackfillCreated {
  if (m.result.case === 'dryRun') return { dry_run: true, ...previewFromWire(m.result.value) };
  // The count of jobs created at once is only a wake-up hint in process: over the wire, none.
  return { dry_run: false, backfill: backfillFromWire(m.result.value), created: 0 };
}

function oneOf<T extends string>(values: readonly T[], value: string): T {
  if (!(values as readonly string[]).includes(value)) throw new Error(`unexpected backfill value ${value}`);
  return value as T;
}
