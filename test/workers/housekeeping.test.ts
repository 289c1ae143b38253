import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { Housekeeping } from '../../src/workers/housekeeping/housekeeping.ts';
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DirectoryArtifactStore } from '../../src/platform/artifacts/directory-store.ts';
import { newId } from '../../src/platform/ids.ts';
import { insertManualJob, insertUser, insertWorkflows } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES, TestClock } from '../helpers/harness.ts';
import { insertAudit } from '../../src/services/users/audit.ts';

describe.each(ENGINES)('housekeeping (%s)', (engine) => {
  let database: Database;
  beforeAll(async () => {
    database = await createTestDatabase(engine);
  });
  afterAll(() => database.close());

  it('deletes old published outbox rows, old dedupe records and expired keys, in batches, and keeps the rest', async () => {
    const userId = await insertUser(database.db);
    await sql`
      INSERT INTO outbox (topic, key, event_type, payload, status, published_at)
      SELECT 'jobs', 'k' || i, 'DISPATCH', '{}'::jsonb, 'PUBLISHED', now() - interval '2 hours' FROM generate_series(1, 25) i`.execute(
      database.db,
    );
    await sql`
      INSERT INTO outbox (topic, key, event_type, payload, status, published_at) VALUES
        ('jobs', 'recent', 'DISPATCH', '{}', 'PUBLISHED', now()),
        ('jobs', 'pending', 'DISPATCH', '{}', 'PENDING', NULL),
        ('jobs', 'dead', 'DISPATCH', '{}', 'DEAD', NULL)`.execute(database.db);
    await sql`
      INSERT INTO processed_events (consumer, event_id, created_at) VALUES
        ('c', 'old', now() - interval '30 days'), ('c', 'new', now())`.execute(database.db);
    await sql`
      INSERT INTO idempotency_keys (user_id, operation, key, request_hash, response_status, response_body, expires_at) VALUES
        (${userId}, 'op', 'expired', 'h', 201, '{}', now() - interval '1 minute'),
        (${userId}, 'op', 'live', 'h', 201, '{}', now() + interval '1 hour')`.execute(database.db);

    const housekeeping = new Housekeeping(
      { db: database.db, logger: createLogger('silent') },
      { batchSize: 10 },
    );
    expect(await housekeeping.runOnce()).toEqual({
      outbox: 25,
      processedEvents: 1,
      idempotencyKeys: 1,
      auditEvents: 0,
      analyticsDurations: 0,
      artifacts: 0,
      orphanArtifacts: 0,
    });
    const { rows: left } = await sql<{ key: string }>`select key from outbox order by key`.execute(
      database.db,
    );
    expect(left.map((r) => r.key)).toEqual(['dead', 'pending', 'recent']);
    const { rows: events } = await sql<{ event_id: string }>`select event_id from processed_events`.execute(
      database.db,
    );
    expect(events.map((e) => e.event_id)).toEqual(['new']);
    const { rows: keys } = await sql<{ key: string }>`select key from idempotency_keys`.execute(database.db);
    expect(keys.map((k) => k.key)).toEqual(['live']);
    expect(await housekeeping.runOnce()).toEqual({
      outbox: 0,
      processedEvents: 0,
      idempotencyKeys: 0,
      auditEvents: 0,
      analyticsDurations: 0,
      artifacts: 0,
      orphanArtifacts: 0,
    });
  });

  it('deletes analytics duration rows (jobs and DAG tasks) finished before the retention, in batches', async () => {
    const clock = new TestClock(Date.parse('2026-05-01T00:00:00.000Z'));
    const day = 86_400_000;
    const userId = await insertUser(database.db);
    const ages = [60, 36, 35.5, 34, 1];
    for (const [i, age] of ages.entries()) {
      const finished = new Date(clock.now().getTime() - age * day);
      await database.db
        .insertInto('analytics_job_durations')
        .values({
          job_id: newId(),
          user_id: userId,
          workflow_id: newId(),
          status: 'COMPLETED',
          duration_ms: i,
          fire_lag_ms: 0,
          finished_at: finished,
        })
        .execute();
      await database.db
        .insertInto('analytics_task_durations')
        .values({
          job_id: newId(),
          user_id: userId,
          workflow_id: newId(),
          run_id: newId(),
          task_name: 'build',
          status: 'COMPLETED',
          attempts: 1,
          duration_ms: i,
          finished_at: finished,
        })
        .execute();
    }
    const housekeeping = new Housekeeping(
      { db: database.db, logger: createLogger('silent'), clock },
      { batchSize: 2, analyticsRetentionMs: 35 * day },
    );
    // Three of each are older than 35 days: six rows, in batches of two.
    expect((await housekeeping.runOnce()).analyticsDurations).toBe(6);
    for (const table of ['analytics_job_durations', 'analytics_task_durations'] as const) {
      const rows = await database.db.selectFrom(table).select('duration_ms').orderBy('duration_ms').execute();
      expect(rows.map((r) => r.duration_ms)).toEqual([3, 4]);
    }
    // A day and a half later the 34-day-old pair is past 35 days.
    clock.advance(1.5 * day);
    expect((await housekeeping.runOnce()).analyticsDurations).toBe(2);
  });

  it('deletes audit entries older than the retention by the clock, in batches, and keeps the rest', async () => {
    const clock = new TestClock(Date.parse('2026-05-01T00:00:00.000Z'));
    const day = 86_400_000;
    for (const age of [100, 95, 91, 90, 10]) {
      await insertAudit(database.db, new Date(clock.now().getTime() - age * day), {
        action: 'auth.login.failed',
        actor_id: null,
        subject_id: null,
        address: '198.51.100.1',
        target_type: null,
        target_id: null,
        details: { age },
      });
    }
    const housekeeping = new Housekeeping(
      { db: database.db, logger: createLogger('silent'), clock },
      { batchSize: 2, auditRetentionMs: 90 * day },
    );
    expect((await housekeeping.runOnce()).auditEvents).toBe(3);
    const { rows } = await sql<{
      age: number;
    }>`select (details->>'age')::int as age from audit_events order by at`.execute(database.db);
    expect(rows.map((r) => r.age)).toEqual([90, 10]);
    clock.advance(day);
    expect((await housekeeping.runOnce()).auditEvents).toBe(1);
  });

  it('deletes artifacts past their retention (rows, then objects) and, with the janitor, objects without rows past the grace', async () => {
    const clock = new TestClock(Date.parse('2026-05-01T00:00:00.000Z'));
    const day = 86_400_000;
    const root = await mkdtemp(join(tmpdir(), 'cv-hk-art-'));
    try {
      const store = new DirectoryArtifactStore(root);
      const userId = await insertUser(database.db);
      const [wf] = await insertWorkflows(database.db, [
        { userId, kind: 'CONTAINER', payload: { image: 'alpine' }, nextRunAt: null },
      ]);
      const job = await insertManualJob(database, wf!, userId);
      const put = async (name: string, ageDays: number, withRow = true) => {
        const key = `${wf}/${job}/1/main/${name}`;
        const stored = await store.put(key, Readable.from([Buffer.from(name)]), {
          contentType: 'application/x-tar',
        });
        // Object age (what the janitor sees) and row age (what retention sees) alike.
        const at = new Date(clock.now().getTime() - ageDays * day);
        await utimes(join(root, key), at, at);
        if (withRow) {
          await database.db
            .insertInto('artifacts')
            .values({
              id: newId(),
              job_id: job,
              workflow_id: wf!,
              user_id: userId,
              attempt: 1,
              name,
              size: stored.size,
              sha256: stored.sha256,
              content_type: 'application/x-tar',
              storage_key: key,
              created_at: at,
            })
            .execute();
        }
        return key;
      };
      const keys = async () => {
        const out: string[] = [];
        for await (const o of store.list('')) out.push(o.key);
        return out.sort();
      };
      await put('old-a', 40);
      await put('old-b', 31);
      const kept = await put('recent', 29);
      await put('orphan-old', 2, false);
      const youngOrphan = await put('orphan-young', 0, false);

      const housekeeping = new Housekeeping(
        { db: database.db, logger: createLogger('silent'), clock, artifacts: store },
        {
          batchSize: 1,
          artifactRetentionMs: 30 * day,
          orphanGraceMs: 3_600_000,
          orphanSweepIntervalMs: 7 * day,
        },
      );
      expect(await housekeeping.runOnce()).toMatchObject({ artifacts: 2, orphanArtifacts: 1 });
      expect(await keys()).toEqual([kept, youngOrphan].sort());
      const rows = await database.db
        .selectFrom('artifacts')
        .select('name')
        .where('job_id', '=', job)
        .execute();
      expect(rows.map((r) => r.name)).toEqual(['recent']);

      // Retention runs every time; the janitor once per interval (7 days here), so the young
      // orphan, now past its grace, stays until the next walk.
      clock.advance(2 * day);
      expect(await housekeeping.runOnce()).toMatchObject({ artifacts: 1, orphanArtifacts: 0 });
      expect(await keys()).toEqual([youngOrphan]);
      clock.advance(7 * day);
      expect(await housekeeping.runOnce()).toMatchObject({ artifacts: 0, orphanArtifacts: 1 });
      expect(await keys()).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("deletes artifacts by each workflow's own retention (expires_at) and the others by the installation's", async () => {
    const clock = new TestClock(Date.parse('2026-06-01T00:00:00.000Z'));
    const day = 86_400_000;
    const root = await mkdtemp(join(tmpdir(), 'cv-hk-ret-'));
    try {
      const store = new DirectoryArtifactStore(root);
      const userId = await insertUser(database.db);
      const wfs = await insertWorkflows(database.db, [
        {
          userId,
          kind: 'CONTAINER',
          payload: { image: 'alpine', artifact_retention: '2d' },
          nextRunAt: null,
        },
        {
          userId,
          kind: 'CONTAINER',
          payload: { image: 'alpine', artifact_retention: '60d' },
          nextRunAt: null,
        },
        { userId, kind: 'CONTAINER', payload: { image: 'alpine' }, nextRunAt: null },
      ]);
      const put = async (wf: string, name: string, ageDays: number, retentionDays: number | null) => {
        const job = await insertManualJob(database, wf, userId);
        const key = `${wf}/${job}/1/main/${name}`;
        const stored = await store.put(key, Readable.from([Buffer.from(name)]), {
          contentType: 'application/x-tar',
        });
        const at = clock.now().getTime() - ageDays * day;
        await database.db
          .insertInto('artifacts')
          .values({
            id: newId(),
            job_id: job,
            workflow_id: wf,
            user_id: userId,
            attempt: 1,
            name,
            size: stored.size,
            sha256: stored.sha256,
            content_type: 'application/x-tar',
            storage_key: key,
            created_at: new Date(at),
            expires_at: retentionDays === null ? null : new Date(at + retentionDays * day),
          })
          .execute();
        return key;
      };
      const keys = async () => {
        const out: string[] = [];
        for await (const o of store.list('')) out.push(o.key);
        return out.sort();
      };
      await put(wfs[0]!, 'short-old', 3, 2); // past its workflow's 2 days
      const shortNew = await put(wfs[0]!, 'short-new', 1, 2);
      const longOld = await put(wfs[1]!, 'long-old', 40, 60); // older than 30 days, kept for 60
      await put(wfs[1]!, 'long-older', 61, 60);
      await put(wfs[2]!, 'default-old', 31, null); // the installation's 30 days
      const defaultNew = await put(wfs[2]!, 'default-new', 29, null);

      const housekeeping = new Housekeeping(
        { db: database.db, logger: createLogger('silent'), clock, artifacts: store },
        {
          batchSize: 1,
          artifactRetentionMs: 30 * day,
          orphanGraceMs: 3_600_000,
          orphanSweepIntervalMs: 7 * day,
        },
      );
      expect(await housekeeping.runOnce()).toMatchObject({ artifacts: 3 });
      expect(await keys()).toEqual([shortNew, longOld, defaultNew].sort());
      const rows = await database.db
        .selectFrom('artifacts')
        .select('name')
        .where('workflow_id', 'in', wfs)
        .orderBy('name')
        .execute();
      expect(rows.map((r) => r.name)).toEqual(['default-new', 'long-old', 'short-new']);
      clock.advance(1.5 * day);
      expect(await housekeeping.runOnce()).toMatchObject({ artifacts: 2 });
      expect(await keys()).toEqual([longOld]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
