/**
 * The `chronoverse` command as a user runs it: real processes, real PGlite data directories.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const MAIN = path.resolve('src/cli/main.ts');
// The project's pinned Node (the sources need type stripping), whatever Node runs Vitest.
const NODE = existsSync('node_modules/.bin/node') ? path.resolve('node_modules/.bin/node') : process.execPath;
const children: ChildProcess[] = [];
let dataRoot: string;

beforeAll(async () => {
  dataRoot = await mkdtemp(path.join(tmpdir(), 'cv-cli-'));
});
afterAll(async () => {
  await rm(dataRoot, { recursive: true, force: true });
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  // A clean environment: only what the child needs plus the settings under test.
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
}

function run(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(NODE, [MAIN, ...args], { env: baseEnv(env) });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `chronoverse start` and resolves with its URL once it logs that it is up. */
function start(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [MAIN, 'start'], { env: baseEnv({ PORT: '0', ...env }) });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const entry = JSON.parse(line) as { url?: string };
          if (entry.url) return resolve({ child, url: entry.url });
        } catch {
          // partial line
        }
      }
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.on('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

describe('chronoverse CLI', () => {
  it('refuses to start on bad configuration, naming every bad variable, exit 78', async () => {
    const result = await run(['start'], { PORT: 'http', DATABASE_URL: 'mysql://db', LOG_LEVEL: 'chatty' });
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/PORT \(server\.port\) must be a whole number/);
    expect(result.stderr).toMatch(/DATABASE_URL/);
    expect(result.stderr).toMatch(/LOG_LEVEL/);
  });

  it('checks configuration without starting', async () => {
    expect((await run(['config', 'check'], {})).code).toBe(0);
    const bad = await run(['config', 'check'], { CHRONOVERSE_AUTH_SESSION_TTL: 'soon' });
    expect(bad.code).toBe(78);
    expect(bad.stderr).toMatch(/CHRONOVERSE_AUTH_SESSION_TTL/);
  });

  it('masks every secret in config print: URL passwords (database, Redis, SMTP), the service private key, OTLP headers, the S3 secret key', async () => {
    const result = await run(['config', 'print'], {
      DATABASE_URL: 'postgres://cv:s3cret@db:5432/cv',
      REDIS_URL: 'redis://:r3dis-pass@cache:6379/0',
      CHRONOVERSE_SERVICE_PRIVATE_KEY:
        '-----BEGIN PRIVATE KEY-----\\nk3y-material\\n-----END PRIVATE KEY-----',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=0tlp-key',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://user:c0llector@otel.example:4318',
      CHRONOVERSE_SMTP_URL: 'smtp://alerts%40example.com:smtp-pa55@smtp.example.com:587',
      CHRONOVERSE_ARTIFACTS_S3_ACCESS_KEY_ID: 'AKIAVISIBLE',
      CHRONOVERSE_ARTIFACTS_S3_SECRET_ACCESS_KEY: 's3-secr3t-key',
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/DATABASE_URL=postgres:\/\/cv:\*\*\*\*@db:5432\/cv/);
    expect(result.stdout).toMatch(/REDIS_URL=redis:\/\/:\*\*\*\*@cache:6379\/0/);
    expect(result.stdout).toMatch(/CHRONOVERSE_SERVICE_PRIVATE_KEY=\*\*\*\*\n/);
    expect(result.stdout).toMatch(/OTEL_EXPORTER_OTLP_HEADERS=\*\*\*\*\n/);
    expect(result.stdout).toMatch(/OTEL_EXPORTER_OTLP_ENDPOINT=https:\/\/user:\*\*\*\*@otel.example:4318/);
    expect(result.stdout).toMatch(
      /CHRONOVERSE_SMTP_URL=smtp:\/\/alerts%40example.com:\*\*\*\*@smtp.example.com:587\n/,
    );
    expect(result.stdout).toMatch(/CHRONOVERSE_ARTIFACTS_S3_SECRET_ACCESS_KEY=\*\*\*\*\n/);
    // The key id names the credentials (as a URL's user does): visible for debugging.
    expect(result.stdout).toMatch(/CHRONOVERSE_ARTIFACTS_S3_ACCESS_KEY_ID=AKIAVISIBLE\n/);
    for (const secret of [
      's3cret',
      'r3dis-pass',
      'k3y-material',
      '0tlp-key',
      'c0llector',
      'smtp-pa55',
      's3-secr3t-key',
    ]) {
      expect(result.stdout).not.toContain(secret);
    }
  });

  it('answers an unknown command or option with the usage, exit 2, and no stack trace', async () => {
    const unknown = await run(['frobnicate', '-f'], {});
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^chronoverse: unknown command "frobnicate"/);
    expect(unknown.stderr).toMatch(/Usage:/);
    expect(unknown.stderr).not.toMatch(/\n\s+at /);
    const option = await run(['migrate', '--bogus'], {});
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/Unknown option '--bogus'/);
    expect(option.stderr).not.toMatch(/\n\s+at /);
  });

  it('rejects an unknown role with the list of known ones, exit 2', async () => {
    const result = await run(['start', '--role', 'nope'], { DATA_DIR: path.join(dataRoot, 'roles') });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown role "nope"; known roles: gateway/);
  });

  it('migrates and creates users from the command line', async () => {
    const env = { DATA_DIR: path.join(dataRoot, 'users') };
    expect((await run(['migrate'], env)).stdout).toMatch(/applied 0001_initial/);
    expect((await run(['migrate'], env)).stdout).toMatch(/already up to date/);
    const created = await run(['users', 'create', '--email', 'Root@Example.com', '--admin'], env);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/created admin root@example.com/);
    expect(created.stdout).toMatch(/password: \S{16,}/);
    const dup = await run(
      ['users', 'create', '--email', 'root@example.com', '--password', 'long enough passphrase'],
      env,
    );
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/already exists/);
    const bad = await run(['users', 'create', '--email', 'not-an-email', '--password', 'short'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--email/);
    expect(bad.stderr).toMatch(/--password/);
    // Five PGlite processes in a row: slow on a loaded 2-core machine.
  }, 120_000);

  it('serves the API, and restarts with its data intact', async () => {
    const env = { DATA_DIR: path.join(dataRoot, 'restart') };
    const first = await start(env);
    const register = await fetch(`${first.url}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'keep@example.com', password: 'correct horse' }),
    });
    expect(register.status).toBe(201);
    const { token } = (await register.json()) as { token: string };
    const created = await fetch(`${first.url}/api/v1/workflows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        name: 'kept',
        kind: 'HEARTBEAT',
        payload: { endpoint: 'https://example.com' },
        interval: 5,
      }),
    });
    expect(created.status).toBe(201);
    expect(await stop(first.child)).toBe(0);

    const second = await start(env);
    const list = await fetch(`${second.url}/api/v1/workflows`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(list.status).toBe(200);
    expect(
      ((await list.json()) as { workflows: Array<{ name: string }> }).workflows.map((w) => w.name),
    ).toEqual(['kept']);
    expect(await stop(second.child)).toBe(0);
  }, 60_000);

  it('refuses a second process on the same data directory', async () => {
    const env = { DATA_DIR: path.join(dataRoot, 'locked') };
    const first = await start(env);
    const second = await run(['start'], { ...env, PORT: '0' });
    expect(second.code).toBe(75);
    expect(second.stderr).toMatch(
      new RegExp(`another Chronoverse process \\(pid ${first.child.pid}\\) is using DATA_DIR`),
    );
    expect(await stop(first.child)).toBe(0);
  }, 60_000);

  it('creates the data directory and its lock folder when neither exists', async () => {
    // The quick start's default DATA_DIR (./.chronoverse/data) on a fresh clone: no folder at all.
    const env = { DATA_DIR: path.join(dataRoot, 'fresh', 'nested', 'data') };
    const first = await start(env);
    expect(existsSync(`${env.DATA_DIR}.lock`)).toBe(true);
    expect(await stop(first.child)).toBe(0);
    expect(existsSync(`${env.DATA_DIR}.lock`)).toBe(false);
  }, 60_000);

  it('refuses users create and migrate while a server holds the data directory, and loses no user', async () => {
    const env = { DATA_DIR: path.join(dataRoot, 'users-while-running') };
    const server = await start(env);
    const create = ['users', 'create', '--email', 'late@example.com', '--password', 'correct horse'];
    const refused = await run(create, env);
    expect(refused.code).toBe(75);
    expect(refused.stderr).toMatch(
      new RegExp(`another Chronoverse process \\(pid ${server.child.pid}\\) is using DATA_DIR`),
    );
    expect(refused.stderr).toMatch(/POST \/api\/v1\/auth\/register/);
    expect(refused.stdout).not.toMatch(/created/);
    const migrate = await run(['migrate'], env);
    expect(migrate.code).toBe(75);
    expect(migrate.stderr).toMatch(/is using DATA_DIR/);
    expect(await stop(server.child)).toBe(0);

    // Once the server is stopped the same command works, and the next start sees the user.
    const created = await run(create, env);
    expect(created.code).toBe(0);
    const again = await start(env);
    const login = await fetch(`${again.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'late@example.com', password: 'correct horse' }),
    });
    expect(login.status).toBe(200);
    expect(await stop(again.child)).toBe(0);
  }, 120_000);
});
