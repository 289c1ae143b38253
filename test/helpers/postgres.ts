/** Where the tests' PostgreSQL server is: CHRONOVERSE_TEST_PG_URL, else the local server. */
export const TEST_DB_PREFIX = 'cv_test_';

export function adminUrl(): string {
  return process.env.CHRONOVERSE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

export function databaseUrl(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}
