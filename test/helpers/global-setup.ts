/**
 * Once per test run: checks that PostgreSQL is reachable and builds a migrated template database.
 * Each test file then clones it (`CREATE DATABASE … TEMPLATE`), so files never share state.
 *
 * Database names carry the run's pid (`cv_test_<pid>_…`) so concurrent runs on one server never
 * touch each other; leftovers are dropped only when the run that made them is gone.
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../src/platform/db/database.ts';
import { migrate } from '../../src/platform/db/migrate.ts';
import { adminUrl, databaseUrl, TEST_DB_PREFIX } from './postgres.ts';

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() });
  client.on('error', () => {}); // a dropped admin connection surfaces as a failed query instead
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function dropDatabases(client: pg.Client, keep: (pid: number) => boolean): Promise<void> {
  const { rows } = await client.query<{ datname: string }>(
    'select datname from pg_database where datname like $1',
    [`${TEST_DB_PREFIX}%`],
  );
  for (const { datname } of rows) {
    const pid = Number(/^cv_test_(\d+)_/.exec(datname)?.[1] ?? 0);
    if (pid > 0 && keep(pid)) continue;
    await client.query(`drop database if exists "${datname}" with (force)`);
  }
}

export default async function setup(project: TestProject) {
  const runPrefix = `${TEST_DB_PREFIX}${process.pid}_`;
  const template = `${runPrefix}tpl`;
  try {
    await withAdmin(async (client) => {
      await dropDatabases(client, (pid) => pid !== process.pid && isAlive(pid));
      await client.query(`create database "${template}"`);
    });
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${adminUrl()} (${(err as Error).message}). ` +
        'Start it (scripts/test-ci.sh does) or set CHRONOVERSE_TEST_PG_URL.',
    );
  }
  const db = await openDatabase({ url: databaseUrl(template), dataDir: '', poolSize: 1 });
  await migrate(db.db);
  await db.close();
  project.provide('pgTemplate', template);
  project.provide('pgRunPrefix', runPrefix);

  return async () => {
    await withAdmin((client) => dropDatabases(client, (pid) => pid !== process.pid));
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgTemplate: string;
    pgRunPrefix: string;
  }
}
