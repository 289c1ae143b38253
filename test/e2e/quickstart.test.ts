/**
 * The README's quick start, exactly as written, on a fresh copy of the repository: `npm ci && npm
 * start` in a shell, with nothing set but PORT (no DATA_DIR, no node_modules, no web/dist, no
 * .chronoverse). Every other test passes its own data directory, which is how a quick start that
 * failed on every fresh clone (the lock file opened before its folder existed) went unnoticed.
 *
 * The user's environment: the system's PATH (without this run's node_modules/.bin) and HOME, so
 * `npm` is the system's and the pinned Node comes from the copy's own `npm ci`. Stopping sends
 * SIGTERM to the whole process group, as a terminal's Ctrl-C reaches npm and the server together.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.ts';

const README_QUICK_START = 'npm ci && npm start';
let copy: string | undefined;
const groups: ChildProcess[] = [];

afterAll(async () => {
  for (const child of groups) killGroup(child, 'SIGKILL');
  if (copy) await rm(copy, { recursive: true, force: true });
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** The tracked files of this checkout (what a clone has), copied into a new folder. */
async function freshCopy(): Promise<string> {
  const target = await mkdtemp(path.join(tmpdir(), 'cv-quickstart-'));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    encoding: 'utf8',
  })
    .split('\0')
    .filter((f) => f !== '' && existsSync(f));
  for (const file of files) {
    await mkdir(path.join(target, path.dirname(file)), { recursive: true });
    await copyFile(file, path.join(target, file));
  }
  return target;
}

function userEnv(port: number): NodeJS.ProcessEnv {
  const PATH = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((p) => !p.includes('node_modules'))
    .join(path.delimiter);
  return { PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', PORT: String(port) };
}

interface Started {
  child: ChildProcess;
  output: () => string;
}

function shell(command: string, cwd: string, port: number): Started {
  const child = spawn('sh', ['-c', command], { cwd, env: userEnv(port), detached: true });
  groups.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

async function untilHealthy(url: string, started: Started, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (started.child.exitCode !== null) {
      throw new Error(
        `the quick start exited with ${started.child.exitCode}:\n${started.output().slice(-4000)}`,
      );
    }
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`no healthy server at ${url} in ${timeoutMs} ms:\n${started.output().slice(-4000)}`);
}

/** SIGTERM to the group, then waits until every process of it (npm, the server) has exited. */
async function stopped(child: ChildProcess): Promise<void> {
  killGroup(child, 'SIGTERM');
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      process.kill(-child.pid!, 0);
    } catch {
      return; // ESRCH: the group is gone
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the quick start did not stop within 60 s of SIGTERM');
}

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

describe('the README quick start on a fresh copy of the repository', () => {
  it(
    'installs, starts with the defaults, keeps data across a restart',
    async () => {
      const readme = await import('node:fs/promises').then((fs) => fs.readFile('README.md', 'utf8'));
      expect(readme).toContain(`\`\`\`sh\n${README_QUICK_START}\n\`\`\``);

      copy = await freshCopy();
      expect(existsSync(path.join(copy, 'node_modules'))).toBe(false);
      expect(existsSync(path.join(copy, '.chronoverse'))).toBe(false);
      const port = await freePort();
      const url = `http://localhost:${port}`;

      const first = shell(README_QUICK_START, copy, port);
      // npm ci (from the npm cache on a warm machine) and the dashboard build come first.
      await untilHealthy(url, first, 8 * 60_000);
      const dashboard = await fetch(`${url}/`);
      expect(dashboard.status).toBe(200);
      expect(await dashboard.text()).toMatch(/<div id="root">/);

      const register = await fetch(`${url}/api/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'first@example.com', password: 'correct horse battery' }),
      });
      expect(register.status).toBe(201);
      const { token } = (await json(register)) as { token: string };
      const auth = { authorization: `Bearer ${token}` };
      const created = await fetch(`${url}/api/v1/workflows`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'site up',
          kind: 'HEARTBEAT',
          payload: { endpoint: 'http://127.0.0.1:9/health' },
          interval: 5,
        }),
      });
      expect(created.status).toBe(201);
      const workflowId = (await json(created)).id as string;

      // The default data directory, beside its lock, in the copy itself.
      expect(existsSync(path.join(copy, '.chronoverse', 'data'))).toBe(true);
      expect(existsSync(path.join(copy, '.chronoverse', 'data.lock'))).toBe(true);
      await stopped(first.child);
      expect(existsSync(path.join(copy, '.chronoverse', 'data.lock'))).toBe(false);

      const second = shell('npm start', copy, port);
      await untilHealthy(url, second, 3 * 60_000);
      const login = await fetch(`${url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'first@example.com', password: 'correct horse battery' }),
      });
      expect(login.status).toBe(200);
      const kept = await fetch(`${url}/api/v1/workflows/${workflowId}`, { headers: auth });
      expect(kept.status).toBe(200);
      expect((await json(kept)).name).toBe('site up');
      await stopped(second.child);
    },
    12 * 60_000,
  );
});
