/**
 * The analytics processor and service against a known sequence of JOB_FINISHED facts (see
 * ./sequence.ts): totals, jobs by status, success rate, nearest-rank percentiles of duration and
 * fire lag, hourly and daily buckets; then the same facts replayed as a batch, redelivered one by
 * one and duplicated inside a batch change nothing.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobFinishedPayload } from '../../src/domain/events.ts';
import { ValidationError } from '../../src/domain/errors.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { newId } from '../../src/platform/ids.ts';
import { AnalyticsService } from '../../src/services/analytics/service.ts';
import { AnalyticsProcessor } from '../../src/workers/analytics-processor/processor.ts';
import { insertUser, insertWorkflows } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES, TestClock } from '../helpers/harness.ts';
import { asMessages, BASE, expectedOf, knownSequence, nearestRank } from './sequence.ts';

const logger = createLogger('silent');
const HOUR = 3_600_000;

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

describe.each(ENGINES)('analytics processor (%s)', (engine) => {
  let database: Database;
  let processor: AnalyticsProcessor;
  let service: AnalyticsService;
  let userId: string;
  let otherUserId: string;
  let workflowId: string;
  let secondWorkflowId: string;
  let facts: JobFinishedPayload[];
  let secondFacts: JobFinishedPayload[];
  const clock = new TestClock(BASE + 3 * HOUR);

  /** Everything the service shows and every aggregate row, to compare before and after replays. */
  async function snapshot() {
    const tables = await Promise.all(
      (['analytics_workflow_totals', 'analytics_job_buckets', 'analytics_job_durations'] as const).map(
        async (t) =>
          (await sql`SELECT * FROM ${sql.table(t)} ORDER BY 1, 2, 3`.execute(database.db)).rows.map((r) => ({
            ...(r as Record<string, unknown>),
            updated_at: undefined,
          })),
      ),
    );
    return {
      tables,
      user: await service.user(userId),
      workflow: await service.workflow(userId, workflowId),
      hourly: await service.timeseries(userId, workflowId, {
        bucket: 'hour',
        from: '2021-01-01T08:00:00Z',
        to: '2021-01-01T13:00:00Z',
      }),
    };
  }

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    userId = await insertUser(database.db);
    otherUserId = await insertUser(database.db);
    [workflowId, secondWorkflowId] = (await insertWorkflows(database.db, [
      { userId, nextRunAt: null },
      { userId, nextRunAt: null },
    ])) as [string, string];
    processor = new AnalyticsProcessor({ db: database.db, logger });
    service = new AnalyticsService(database.db, clock);
    facts = knownSequence(userId, workflowId);
    secondFacts = knownSequence(userId, secondWorkflowId).slice(0, 10);
    // Interleaved batches of 17, as a relay would deliver them.
    const all = [...facts, ...secondFacts].sort((a, b) => a.job_id.localeCompare(b.job_id));
    let applied = 0;
    for (const batch of chunks(asMessages(all), 17)) applied += (await processor.handle(batch)).applied;
    expect(applied).toBe(all.length);
  });
  afterAll(() => database.close());

  it("aggregates one workflow's jobs: statuses, success rate, totals, percentiles", async () => {
    const e = expectedOf(facts);
    const wf = await service.workflow(userId, workflowId);
    expect(wf.workflow_id).toBe(workflowId);
    expect(wf.jobs_by_status).toEqual({
      PENDING: 0,
      QUEUED: 0,
      RUNNING: 0,
      COMPLETED: e.completed,
      FAILED: e.failed,
      CANCELED: e.canceled,
    });
    // The sequence's own figures, so a mistake in expectedOf cannot hide one in the SQL.
    expect([e.completed, e.failed, e.canceled]).toEqual([85, 10, 8]);
    expect(wf.total_jobs).toBe(103);
    expect(wf.total_workflows).toBe(1);
    expect(wf.success_rate).toBeCloseTo(85 / 95, 12);
    expect(wf.total_joblogs).toBe(5050);
    expect(wf.total_job_execution_duration).toBe(50.5);
    expect(wf.duration_ms).toEqual({ p50: 500, p95: 950, p99: 990 });
    expect(wf.fire_lag_ms).toEqual({ p50: 50, p95: 95, p99: 99 });
    expect(wf.duration_ms).toEqual({
      p50: nearestRank(e.durations, 0.5),
      p95: nearestRank(e.durations, 0.95),
      p99: nearestRank(e.durations, 0.99),
    });
    expect(wf.percentiles_since).toBe(new Date(clock.now().getTime() - 30 * 24 * HOUR).toISOString());
  });

  it("sums a user's workflows and leaves other users' figures alone", async () => {
    const e = expectedOf([...facts, ...secondFacts]);
    const user = await service.user(userId);
    expect(user.total_workflows).toBe(2);
    expect(user.total_jobs).toBe(facts.length + secondFacts.length);
    expect(user.jobs_by_status.COMPLETED).toBe(e.completed);
    expect(user.jobs_by_status.FAILED).toBe(e.failed);
    expect(user.jobs_by_status.CANCELED).toBe(e.canceled);
    expect(user.total_joblogs).toBe(e.logLines);
    expect(user.total_job_execution_duration).toBeCloseTo(e.durationMsTotal / 1000, 6);
    expect(user.duration_ms).toEqual({
      p50: nearestRank(e.durations, 0.5),
      p95: nearestRank(e.durations, 0.95),
      p99: nearestRank(e.durations, 0.99),
    });
    expect(user.fire_lag_ms).toEqual({
      p50: nearestRank(e.lags, 0.5),
      p95: nearestRank(e.lags, 0.95),
      p99: nearestRank(e.lags, 0.99),
    });

    const other = await service.user(otherUserId);
    expect(other.total_jobs).toBe(0);
    expect(other.total_workflows).toBe(0);
    expect(other.success_rate).toBeNull();
    expect(other.duration_ms).toEqual({ p50: null, p95: null, p99: null });
    await expect(service.workflow(otherUserId, workflowId)).rejects.toMatchObject({ code: 'CV_NOT_FOUND' });
  });

  it('fills hourly buckets by completion hour, zeros where nothing finished', async () => {
    const e = expectedOf(facts);
    const points = await service.timeseries(userId, workflowId, {
      bucket: 'hour',
      from: '2021-01-01T08:30:00Z', // rounded down to 08:00
      to: '2021-01-01T13:00:00Z',
    });
    expect(points.map((p) => p.ts)).toEqual([
      '2021-01-01T08:00:00.000Z',
      '2021-01-01T09:00:00.000Z',
      '2021-01-01T10:00:00.000Z',
      '2021-01-01T11:00:00.000Z',
      '2021-01-01T12:00:00.000Z',
    ]);
    const empty = { completed: 0, failed: 0, canceled: 0, avg_duration_ms: null, avg_fire_lag_ms: null };
    expect(points[0]).toMatchObject(empty);
    expect(points[1]).toMatchObject(empty);
    expect(points[4]).toMatchObject(empty);
    for (const point of points.slice(2, 4)) {
      const h = e.hours.get(Date.parse(point.ts))!;
      const avg = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);
      expect(point).toEqual({
        ts: point.ts,
        completed: h.completed,
        failed: h.failed,
        canceled: h.canceled,
        avg_duration_ms: avg(h.dur),
        avg_fire_lag_ms: avg(h.lag),
      });
    }
    // 10:00 holds i = 1…59 and the 3 jobs that never started; 11:00 holds i = 60…100.
    expect(points[2]!.completed + points[2]!.failed + points[2]!.canceled).toBe(62);
    expect(points[3]!.completed + points[3]!.failed + points[3]!.canceled).toBe(41);
    expect(points[2]!.avg_duration_ms).toBe(300);
  });

  it('rolls hours up to UTC days, and sums all workflows in the user series', async () => {
    const day = await service.timeseries(userId, workflowId, {
      bucket: 'day',
      from: '2020-12-31T00:00:00Z',
      to: '2021-01-02T00:00:00Z',
    });
    expect(day).toEqual([
      {
        ts: '2020-12-31T00:00:00.000Z',
        completed: 0,
        failed: 0,
        canceled: 0,
        avg_duration_ms: null,
        avg_fire_lag_ms: null,
      },
      {
        ts: '2021-01-01T00:00:00.000Z',
        completed: 85,
        failed: 10,
        canceled: 8,
        avg_duration_ms: 505,
        avg_fire_lag_ms: 51,
      },
    ]);
    const all = await service.timeseries(userId, null, {
      bucket: 'day',
      from: '2021-01-01T00:00:00Z',
      to: '2021-01-02T00:00:00Z',
    });
    const e = expectedOf([...facts, ...secondFacts]);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ completed: e.completed, failed: e.failed, canceled: e.canceled });
  });

  it('defaults to the last 24 hours hourly and the last 30 days daily, ending with the current bucket', async () => {
    const at = new TestClock(Date.parse('2021-01-01T11:30:00Z'));
    const s = new AnalyticsService(database.db, at);
    const hourly = await s.timeseries(userId, workflowId, { bucket: 'hour' });
    expect(hourly).toHaveLength(24);
    expect(hourly[0]!.ts).toBe('2020-12-31T12:00:00.000Z');
    expect(hourly[23]!.ts).toBe('2021-01-01T11:00:00.000Z');
    expect(hourly[22]!.completed).toBeGreaterThan(0);
    const daily = await s.timeseries(userId, workflowId, { bucket: 'day' });
    expect(daily).toHaveLength(30);
    expect(daily[29]!.ts).toBe('2021-01-01T00:00:00.000Z');
  });

  it('rejects a bad range listing every field', async () => {
    const issues = async (p: Promise<unknown>) => {
      const err = await p.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ValidationError);
      return (err as ValidationError).issues.map((i) => i.path).sort();
    };
    expect(
      await issues(
        service.timeseries(userId, workflowId, {
          bucket: 'hour',
          from: 'yesterday',
          to: '2021-02-30T00:00:00Z',
        }),
      ),
    ).toEqual(['from', 'to']);
    expect(
      await issues(
        service.timeseries(userId, workflowId, {
          bucket: 'hour',
          from: '2021-01-02T00:00:00Z',
          to: '2021-01-01T00:00:00Z',
        }),
      ),
    ).toEqual(['to']);
    expect(
      await issues(
        service.timeseries(userId, workflowId, {
          bucket: 'hour',
          from: '2020-01-01T00:00:00Z',
          to: '2021-01-01T00:00:00Z',
        }),
      ),
    ).toEqual(['from']);
    // 1000 buckets is the limit, not beyond it.
    const max = await service.timeseries(userId, workflowId, {
      bucket: 'hour',
      from: '2021-01-01T00:00:00Z',
      to: new Date(Date.parse('2021-01-01T00:00:00Z') + 1000 * HOUR).toISOString(),
    });
    expect(max).toHaveLength(1000);
  });

  it('changes nothing when the batch is replayed, redelivered one by one, or duplicated in a batch', async () => {
    const before = await snapshot();
    const messages = asMessages([...facts, ...secondFacts]);
    expect((await processor.handle(messages)).applied).toBe(0);
    let applied = 0;
    for (const m of messages) applied += (await processor.handle([m])).applied;
    expect(applied).toBe(0);
    expect((await processor.handle([...messages.slice(0, 5), ...messages.slice(0, 5)])).applied).toBe(0);
    expect(await snapshot()).toEqual(before);
  });

  it('counts a new job once even when it arrives twice in one batch beside replayed ones', async () => {
    const fresh = knownSequence(userId, workflowId).slice(0, 1)[0]!;
    const before = await service.workflow(userId, workflowId);
    const batch = asMessages([fresh, facts[0]!, fresh, facts[1]!]);
    expect((await processor.handle(batch)).applied).toBe(1);
    const after = await service.workflow(userId, workflowId);
    expect(after.jobs_by_status.COMPLETED).toBe(before.jobs_by_status.COMPLETED + 1);
    expect(after.total_joblogs).toBe(before.total_joblogs + fresh.log_lines);
  });

  it('skips malformed facts and facts of deleted users instead of failing the batch', async () => {
    const before = await service.user(userId);
    const good = knownSequence(userId, workflowId)[2]!;
    const ghost = { ...knownSequence(newId(), workflowId)[3]!, user_id: newId() };
    const batch = [
      ...asMessages([good, ghost]),
      {
        id: 'x1',
        topic: 'analytics' as const,
        key: workflowId,
        type: 'JOB_FINISHED',
        payload: { job_id: 'nope' },
      },
      { id: 'x2', topic: 'analytics' as const, key: workflowId, type: 'SOMETHING_ELSE', payload: {} },
    ];
    expect(await processor.handle(batch)).toEqual({ received: 2, applied: 1, tasksApplied: 0 });
    const after = await service.user(userId);
    expect(after.total_jobs).toBe(before.total_jobs + 1);
  });

  it('counts a task that failed before it started, and leaves skipped and canceled tasks out', async () => {
    const runId = newId();
    const at = new Date(BASE + 2 * HOUR).toISOString();
    const fact = (task: string, status: string, attempts: number, started: string | null) => ({
      id: newId(),
      topic: 'analytics' as const,
      key: workflowId,
      type: 'TASK_FINISHED',
      payload: {
        job_id: newId(),
        workflow_id: workflowId,
        user_id: userId,
        generation: 1,
        status,
        trigger: 'MANUAL',
        attempts,
        scheduled_at: at,
        started_at: started,
        completed_at: at,
        exit_code: null,
        http_status_code: null,
        error_code: status === 'FAILED' ? 'RENDER_FAILED' : null,
        error_message: null,
        log_lines: 0,
        bulk: false,
        run_id: runId,
        task,
        task_index: null,
      },
    });
    const ran = new Date(BASE + 2 * HOUR - 400).toISOString();
    const batch = [
      fact('build', 'COMPLETED', 1, ran),
      fact('render', 'FAILED', 0, null),
      fact('skipped', 'SKIPPED', 0, null),
      fact('canceled', 'CANCELED', 0, null),
    ];
    // Skipped and canceled ones are well-formed (not "malformed"), just not counted.
    expect(await processor.handle(batch)).toEqual({ received: 2, applied: 0, tasksApplied: 2 });
    expect(await processor.handle(batch)).toEqual({ received: 2, applied: 0, tasksApplied: 0 });
    const figures = await service.tasks(userId, workflowId);
    expect(figures.tasks.map((t) => t.name)).toEqual(['build', 'render']);
    expect(figures.tasks[1]).toMatchObject({
      instances: 1,
      completed: 0,
      failed: 1,
      attempts: 0,
      success_rate: 0,
      duration_ms: { p50: null, p95: null, p99: null },
    });
    expect(figures.tasks[0]).toMatchObject({ instances: 1, completed: 1, success_rate: 1 });
    expect(figures.tasks[0]!.duration_ms).toMatchObject({ p50: 400 });
  });

  it('keeps the figures of a deleted workflow, still only for its owner', async () => {
    await database.db.deleteFrom('workflows').where('id', '=', secondWorkflowId).execute();
    const wf = await service.workflow(userId, secondWorkflowId);
    expect(wf.total_jobs).toBe(secondFacts.length);
    expect((await service.user(userId)).total_workflows).toBe(2);
    await expect(service.workflow(otherUserId, secondWorkflowId)).rejects.toMatchObject({
      code: 'CV_NOT_FOUND',
    });
    await expect(service.workflow(userId, newId())).rejects.toMatchObject({ code: 'CV_NOT_FOUND' });
  });
});
