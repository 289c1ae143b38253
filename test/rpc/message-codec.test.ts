/**
 * The codec's conventions (src/platform/rpc/message-codec.ts) on the real generated messages,
 * through the binary wire format: each case is a shape the services answer or take whose loss
 * would go unnoticed in a round trip of typical objects (an empty list that must stay, a key that
 * must stay absent, null versus absent, JSON null).
 */
import { fromBinary, toBinary, type DescMessage } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  AllJobsFiltersSchema,
  JobSchema,
  WorkflowJobSchema,
} from '../../src/gen/chronoverse/jobs/v1/jobs_pb.js';
import { IssuedSessionSchema } from '../../src/gen/chronoverse/users/v1/users_pb.js';
import {
  BackfillCreatedSchema,
  BodyRequestSchema,
  ScheduleSchema,
} from '../../src/gen/chronoverse/workflows/v1/workflows_pb.js';
import { fieldsOf, fromMessage, toMessage } from '../../src/platform/rpc/message-codec.ts';

/** value → message → bytes → message → value. */
function overTheWire(desc: DescMessage, value: Record<string, unknown>): Record<string, unknown> {
  const bytes = toBinary(desc, toMessage(desc, value));
  return fromMessage(desc, fromBinary(desc, bytes));
}

const job = {
  id: 'j1',
  workflow_id: 'w1',
  status: 'COMPLETED',
  trigger: 'MANUAL',
  scheduled_at: '2026-01-02T03:04:05.678Z',
  started_at: null,
  completed_at: '2026-01-02T03:04:06.000Z',
  created_at: '2026-01-02T03:04:05.678Z',
  updated_at: '2026-01-02T03:04:06.000Z',
  attempts: 1,
  max_attempts: 3,
  exit_code: 0,
  http_status_code: null,
  latency_ms: null,
  skipped_ticks: 0,
  retry_of: null,
  workflow_version: 2,
  error: null,
  kind: 'DAG',
};

describe('message codec', () => {
  it('keeps a view whole: nulls, zero values, enum names, timestamps, key order', () => {
    expect(JSON.stringify(overTheWire(JobSchema, job))).toBe(JSON.stringify(job));
  });

  it('tells an absent list from an empty one where the API does (tasks?)', () => {
    expect(overTheWire(JobSchema, job)).not.toHaveProperty('tasks');
    expect(overTheWire(JobSchema, { ...job, tasks: [] }).tasks).toEqual([]);
    const task = {
      id: 't1',
      name: 'a',
      kind: 'HEARTBEAT',
      index: 0,
      status: 'SKIPPED',
      attempts: 0,
      started_at: null,
      completed_at: null,
      exit_code: null,
      http_status: null,
      error: { kind: 'USER', code: 'X', message: 'm' },
      outputs: { n: 1 },
      item: null,
      skipped_reason: 'upstream failed',
    };
    const { tasks } = overTheWire(JobSchema, { ...job, tasks: [task] });
    expect(JSON.stringify(tasks)).toBe(JSON.stringify([task]));
  });

  it('spreads an embedded message into its parent, its keys first', () => {
    const row = { ...job, workflow_name: 'nightly' };
    expect(JSON.stringify(overTheWire(WorkflowJobSchema, row))).toBe(JSON.stringify(row));
  });

  it('leaves omitted keys out, and gives Dates where the API has them', () => {
    expect(overTheWire(AllJobsFiltersSchema, { limit: 5 })).toEqual({ limit: 5 });
    const since = new Date('2026-03-04T05:06:07.890Z');
    const filters = overTheWire(AllJobsFiltersSchema, { limit: 5, status: ['RUNNING', 'FAILED'], since });
    expect(filters).toEqual({ limit: 5, status: ['RUNNING', 'FAILED'], since });
    expect(filters.since).toBeInstanceOf(Date);
    const session = { user: null, token: 't', tokenId: 'i', expiresAt: since };
    expect(overTheWire(IssuedSessionSchema, session).expiresAt).toEqual(since);
  });

  it('keeps each arm of a union with only its own keys', () => {
    const once = { type: 'once', run_at: '2026-01-01T00:00:00.000Z' };
    expect(JSON.stringify(overTheWire(ScheduleSchema, once))).toBe(JSON.stringify(once));
    const dryRun = { dry_run: true, fire_times: [] };
    expect(JSON.stringify(overTheWire(BackfillCreatedSchema, dryRun))).toBe(JSON.stringify(dryRun));
  });

  it('passes a body as received, JSON null and absence included, as positional parameters', () => {
    const args = (body: unknown) =>
      fieldsOf(
        BodyRequestSchema,
        fromBinary(
          BodyRequestSchema,
          toBinary(BodyRequestSchema, toMessage(BodyRequestSchema, { user_id: 'u', body })),
        ),
      );
    expect(args({ a: [1, 'x', null], __proto__x: 1 })).toEqual([
      'u',
      { a: [1, 'x', null], __proto__x: 1 },
      undefined,
    ]);
    expect(args(null)).toEqual(['u', null, undefined]);
    expect(args(undefined)).toEqual(['u', undefined, undefined]);
  });
});
