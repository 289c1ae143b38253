/**
 * Once per test run: checks that PostgreSQL is reachable and builds a migrated template database.
 * Each test file then clones it (`CREATE DATABASE … TEMPLATE`), so files never share state.
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../src/platform/db/database.ts';
import { migrate } from '../../src/platform/db/migrate.ts';
import { adminUrl, databaseUrl, TEST_DB_PREFIX } from './postgres.ts';

export default async function setup(project: TestProject) {
  const template = `${TEST_DB_PREFIX}tpl_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${adminUrl()} (${(err as Error).message}). ` +
        'Start it (scripts/test-ci.sh does) or set CHRONOVERSE_TEST_PG_URL.',
    );
  }
  // Leftovers of an earlier, interrupted run.
  const { rows } = await admin.query<{ datname: string }>(
    `select datname from pg_database where datname like $1`,
    [`${TEST_DB_PREFIX}%`],
  );
  for (const { datname } of rows) await admin.query(`drop database if exists "${datname}" with (force)`);
  await admin.query(`create database "${template}"`);
  const db = await openDatabase({ url: databaseUrl(template), dataDir: '', poolSize: 1 });
  await migrate(db.db);
  await db.close();
  project.provide('pgTemplate', template);

  return async () => {
    const { rows: left } = await admin.query<{ datname: string }>(
      `select datname from pg_database where datname like $1`,
      [`${TEST_DB_PREFIX}%`],
    );
    for (const { datname } of left) await admin.query(`drop database if exists "${datname}" with (force)`);
    await admin.end();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgTemplate: string;
  }
}
