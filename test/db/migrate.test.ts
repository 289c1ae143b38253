import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '../../src/platform/db/database.ts';
import { ensureJobLogPartitions, loadMigrations, migrate } from '../../src/platform/db/migrate.ts';
import { adminUrl, databaseUrl } from '../helpers/postgres.ts';
import { WorkflowsService } from '../../src/services/workflows/service.ts';

const created: string[] = [];
async function emptyPostgres(): Promise<{ url: string; name: string }> {
  const name = `${inject('pgRunPrefix')}mig_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  created.push(name);
  return { url: databaseUrl(name), name };
}

afterAll(async () => {
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  for (const name of created) await admin.query(`drop database if exists "${name}" with (force)`);
  await admin.end();
});

async function tables(database: Database): Promise<string[]> {
  const { rows } = await sql<{ tablename: string }>`
    select tablename from pg_tables where schemaname = 'public' and tablename not like 'job_logs_%' order by 1`.execute(
    database.db,
  );
  return rows.map((r) => r.tablename);
}

const EXPECTED_TABLES = [
  'analytics_job_buckets',
  'analytics_job_durations',
  'analytics_task_durations',
  'analytics_workflow_totals',
  'artifacts',
  'audit_events',
  'auth_tokens',
  'backfills',
  'bus_parked_messages',
  'email_deliveries',
  'email_delivery_attempts',
  'idempotency_keys',
  'invites',
  'job_logs',
  'jobs',
  'notification_subscriptions',
  'notifications',
  'outbox',
  'password_reset_tokens',
  'processed_events',
  'schedule_incidents',
  'schema_migrations',
  'settings',
  'user_quotas',
  'users',
  'webhook_deliveries',
  'webhook_delivery_attempts',
  'webhooks',
  'workflow_ticks',
  'workflow_versions',
  'workflows',
];

describe('migrations', () => {
  it('apply from empty on PGlite, then are a no-op', async () => {
    const database = await openDatabase({ url: '', dataDir: 'memory://', poolSize: 1 });
    try {
      const first = await migrate(database.db);
      expect(first.applied).toEqual((await loadMigrations()).map((m) => m.name));
      expect(await tables(database)).toEqual(EXPECTED_TABLES);
      expect((await migrate(database.db)).applied).toEqual([]);
    } finally {
      await database.close();
    }
  });

  it('apply from empty on PostgreSQL, then are a no-op', async () => {
    const { url } = await emptyPostgres();
    const database = await openDatabase({ url, dataDir: '', poolSize: 2 });
    try {
      expect((await migrate(database.db)).applied.length).toBeGreaterThan(0);
      expect(await tables(database)).toEqual(EXPECTED_TABLES);
      expect((await migrate(database.db)).applied).toEqual([]);
    } finally {
      await database.close();
    }
  });

  it('serialise concurrent migrators: exactly one applies, none fails', async () => {
    const { url } = await emptyPostgres();
    const handles = await Promise.all(
      Array.from({ length: 6 }, () => openDatabase({ url, dataDir: '', poolSize: 1 })),
    );
    try {
      const results = await Promise.all(handles.map((h) => migrate(h.db)));
      const appliers = results.filter((r) => r.applied.length > 0);
      expect(appliers).toHaveLength(1);
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from schema_migrations`.execute(
        handles[0]!.db,
      );
      expect(rows[0]!.n).toBe((await loadMigrations()).length);
    } finally {
      await Promise.all(handles.map((h) => h.close()));
    }
  });

  it('refuse a migration edited after it was applied', async () => {
    const database = await openDatabase({ url: '', dataDir: 'memory://', poolSize: 1 });
    try {
      const migrations = await loadMigrations();
      await migrate(database.db, migrations);
      const edited = migrations.map((m, i) => (i === 0 ? { ...m, checksum: 'tampered' } : m));
      await expect(migrate(database.db, edited)).rejects.toThrow(/was changed after it was applied/);
    } finally {
      await database.close();
    }
  });

  it('refuse to run against a database migrated by a newer build', async () => {
    const database = await openDatabase({ url: '', dataDir: 'memory://', poolSize: 1 });
    try {
      const migrations = await loadMigrations();
      await migrate(database.db, [
        ...migrations,
        { version: 9999, name: '9999_future', sql: 'select 1', checksum: 'x' },
      ]);
      await expect(migrate(database.db, migrations)).rejects.toThrow(/9999_future/);
    } finally {
      await database.close();
    }
  });

  it('create daily job-log partitions idempotently', async () => {
    const database = await openDatabase({ url: '', dataDir: 'memory://', poolSize: 1 });
    try {
      await migrate(database.db);
      expect(await ensureJobLogPartitions(database.db, 3)).toBe(5);
      expect(await ensureJobLogPartitions(database.db, 3)).toBe(0);
    } finally {
      await database.close();
    }
  });

  it('skip a day whose rows already sit in the default partition, and still create the others', async () => {
    const database = await openDatabase({ url: '', dataDir: 'memory://', poolSize: 1 });
    try {
      await migrate(database.db);
      // A line ingested 20 days ahead lands in the default partition (no partition exists yet).
      await sql`insert into job_logs (job_id, workflow_id, sequence_num, attempt, stream, "timestamp", message, ingested_at)
                values (gen_random_uuid(), gen_random_uuid(), 0, 1, 'stdout', now(), 'early', now() + interval '20 days')`.execute(
        database.db,
      );
      const { rows } = await sql<{ created: number }>`
        select chronoverse_ensure_job_log_partitions((now() at time zone 'UTC')::date + 19, 3) as created`.execute(
        database.db,
      );
      expect(rows[0]!.created).toBe(2);
      const { rows: kept } = await sql<{ message: string }>`select message from job_logs`.execute(
        database.db,
      );
      expect(kept).toEqual([{ message: 'early' }]);
    } finally {
      await database.close();
    }
  });

  it('bound daily partitions in UTC whatever the session time zone', async () => {
    const database = await openDatabase({ url: '', dataDir: 'memory://', poolSize: 1 });
    try {
      await migrate(database.db);
      await sql`set timezone = 'Asia/Tokyo'`.execute(database.db);
      await sql`select chronoverse_ensure_job_log_partitions('2030-01-01'::date, 1)`.execute(database.db);
      await sql`set timezone = 'UTC'`.execute(database.db);
      const { rows } = await sql<{ bound: string }>`
        select pg_get_expr(c.relpartbound, c.oid) as bound from pg_class c where c.relname = 'job_logs_p20300101'`.execute(
        database.db,
      );
      expect(rows[0]!.bound).toBe("FOR VALUES FROM ('2030-01-01 00:00:00+00') TO ('2030-01-02 00:00:00+00')");
    } finally {
      await database.close();
    }
  });

  it('0020 backfills version 1 of every workflow and of its jobs, as the service would compute it', async () => {
    const database = await openDatabase({ url: '', dataDir: 'memory://', poolSize: 1 });
    try {
      const migrations = await loadMigrations();
      const before = migrations.filter((m) => m.version < 20);
      expect(before.length).toBe(migrations.findIndex((m) => m.version === 20));
      await migrate(database.db, before);
      const user = '01900000-0000-7000-8000-0000000000aa';
      const cron = '01900000-0000-7000-8000-0000000000b1';
      const once = '01900000-0000-7000-8000-0000000000b2';
      await sql`insert into users (id, email, password_hash) values (${user}, 'backfill@example.com', 'x')`.execute(
        database.db,
      );
      const payload = JSON.stringify({ endpoint: 'https://example.com/', method: 'GET' });
      await sql`
        insert into workflows (id, user_id, name, kind, payload, schedule_type, cron_expression, timezone,
          schedule_policy, max_consecutive_job_failures_allowed, log_retention, build_status)
        values (${cron}, ${user}, 'cron', 'HEARTBEAT', ${payload}::jsonb, 'cron', '0 2 * * *', 'Europe/Paris',
          ${JSON.stringify({ overlap: 'SKIP', catch_up: { mode: 'NONE', window_seconds: null, max_runs: null }, jitter_seconds: 0, starting_deadline_seconds: null })}::jsonb,
          3, false, 'COMPLETED')`.execute(database.db);
      await sql`
        insert into workflows (id, user_id, name, kind, payload, schedule_type, run_at,
          max_consecutive_job_failures_allowed, log_retention, build_status)
        values (${once}, ${user}, 'once', 'HEARTBEAT', ${payload}::jsonb, 'once', '2030-05-06T07:08:09.123Z',
          3, false, 'COMPLETED')`.execute(database.db);
      await sql`
        insert into jobs (id, workflow_id, user_id, workflow_generation, kind, spec, trigger, scheduled_at)
        values ('01900000-0000-7000-8000-0000000000c1', ${cron}, ${user}, 1, 'HEARTBEAT', ${payload}::jsonb,
          'MANUAL', now())`.execute(database.db);
      // The times in a definition do not depend on the session's time zone.
      await sql`set timezone = 'Asia/Tokyo'`.execute(database.db);
      const upTo20 = migrations.filter((m) => m.version <= 20);
      expect((await migrate(database.db, upTo20)).applied).toEqual(['0020_workflow_versions']);
      await sql`set timezone = 'UTC'`.execute(database.db);

      const versions = await database.db
        .selectFrom('workflow_versions')
        .selectAll()
        .orderBy('workflow_id')
        .execute();
      expect(versions.map((v) => [v.workflow_id, v.version, v.created_by])).toEqual([
        [cron, 1, user],
        [once, 1, user],
      ]);
      expect(versions[0]!.definition).toMatchObject({
        kind: 'HEARTBEAT',
        schedule_type: 'cron',
        cron_expression: '0 2 * * *',
        schedule_policy: { overlap: 'SKIP' },
      });
      expect(versions[1]!.definition).toMatchObject({
        schedule_type: 'once',
        run_at: '2030-05-06T07:08:09.123Z',
      });
      const jobs = await database.db.selectFrom('jobs').select('workflow_version').execute();
      expect(jobs).toEqual([{ workflow_version: 1 }]);

      // An edit that changes nothing finds the backfilled definition the same: no version 2
      // (with every later migration applied, as the service expects).
      await migrate(database.db, migrations);
      const service = new WorkflowsService(
        database.db,
        { now: () => new Date() },
        { idempotencyTtlMs: 60_000 },
      );
      for (const id of [cron, once]) {
        expect((await service.update(user, id, {})).body.version).toBe(1);
        expect((await service.update(user, id, { name: 'renamed' })).body.version).toBe(1);
      }
      expect(
        (await service.update(user, cron, { max_consecutive_job_failures_allowed: 4 })).body.version,
      ).toBe(2);
    } finally {
      await database.close();
    }
  });

  it('0028 backfills the state with the precedence the status was derived by, and its CHECKs refuse a state the facts contradict', async () => {
    const database = await openDatabase({ url: '', dataDir: 'memory://', poolSize: 1 });
    try {
      const migrations = await loadMigrations();
      await migrate(
        database.db,
        migrations.filter((m) => m.version < 28),
      );
      const user = '01900000-0000-7000-8000-0000000000aa';
      await sql`insert into users (id, email, password_hash) values (${user}, 'state@example.com', 'x')`.execute(
        database.db,
      );
      const at = '2030-01-01T00:00:00Z';
      // [name, build_status, terminated_at, completed_at, paused_at, expected state]
      const cases: [string, string, string | null, string | null, string | null, string][] = [
        ['queued', 'QUEUED', null, null, null, 'BUILDING'],
        ['started-paused', 'STARTED', null, null, at, 'BUILDING'],
        ['built', 'COMPLETED', null, null, null, 'ACTIVE'],
        ['paused', 'COMPLETED', null, null, at, 'PAUSED'],
        ['failed', 'FAILED', null, null, null, 'BUILD_FAILED'],
        ['canceled-paused', 'CANCELED', null, null, at, 'BUILD_FAILED'],
        ['completed-paused', 'COMPLETED', null, at, at, 'COMPLETED'],
        ['completed-rebuilding', 'QUEUED', null, at, null, 'COMPLETED'],
        ['terminated', 'COMPLETED', at, at, at, 'TERMINATED'],
        ['terminated-failed', 'FAILED', at, null, null, 'TERMINATED'],
      ];
      const payload = JSON.stringify({ endpoint: 'https://example.com/', method: 'GET' });
      for (const [i, [name, build, terminated, completed, paused]] of cases.entries()) {
        await sql`
          insert into workflows (id, user_id, name, kind, payload, schedule_type, interval_minutes,
            log_retention, build_status, terminated_at, completed_at, paused_at)
          values (${`01900000-0000-7000-8000-0000000001${String(i).padStart(2, '0')}`}, ${user}, ${name},
            'HEARTBEAT', ${payload}::jsonb, 'interval', 5, false, ${build},
            ${terminated}::timestamptz, ${completed}::timestamptz, ${paused}::timestamptz)`.execute(
          database.db,
        );
      }
      expect((await migrate(database.db, migrations)).applied).toContain('0028_workflow_state');
      const rows = await database.db
        .selectFrom('workflows')
        .select(['name', 'state'])
        .orderBy('id')
        .execute();
      expect(rows.map((r) => [r.name, r.state])).toEqual(cases.map((c) => [c[0], c[5]]));

      // A write that moves a fact without the state (or the state without its facts) is refused.
      const refused = [
        sql`update workflows set terminated_at = now() where name = 'built'`,
        sql`update workflows set state = 'ACTIVE' where name = 'paused'`,
        sql`update workflows set build_status = 'QUEUED' where name = 'built'`,
        sql`update workflows set build_status = 'COMPLETED' where name = 'queued'`,
        sql`update workflows set paused_at = now() where name = 'built'`,
        sql`update workflows set completed_at = now() where name = 'built'`,
        sql`update workflows set state = 'BUILD_FAILED' where name = 'queued'`,
        sql`update workflows set state = 'SLEEPING' where name = 'queued'`,
      ];
      for (const statement of refused) {
        await expect(statement.execute(database.db)).rejects.toThrow(/check constraint/);
      }
      await sql`update workflows set state = 'PAUSED', paused_at = now() where name = 'built'`.execute(
        database.db,
      );
    } finally {
      await database.close();
    }
  });

  it('keep PGlite data on disk across a restart', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cv-pglite-'));
    try {
      const first = await openDatabase({ url: '', dataDir: dir, poolSize: 1 });
      await migrate(first.db);
      await sql`insert into users (id, email, password_hash) values ('01900000-0000-7000-8000-000000000001', 'keep@example.com', 'x')`.execute(
        first.db,
      );
      await first.close();
      const second = await openDatabase({ url: '', dataDir: dir, poolSize: 1 });
      const { rows } = await sql<{ email: string }>`select email from users`.execute(second.db);
      expect(rows).toEqual([{ email: 'keep@example.com' }]);
      expect((await migrate(second.db)).applied).toEqual([]);
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
