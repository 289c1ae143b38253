/**
 * Chronoverse roles as separate OS processes, for the distributed end-to-end suite: each is
 * `node src/cli/main.ts start --role <roles>` with its own environment, its JSON log in a file
 * under the cluster's folder (printed, kept after a failure), readiness awaited over HTTP
 * (`/readyz` on the gateway's PORT or on CHRONOVERSE_OPS_PORT). Processes can be SIGKILLed and
 * started again, as in production.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.ts';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.ts');

export class RoleProcess {
  readonly name: string;
  readonly roles: string;
  readonly env: Record<string, string>;
  /** The port /readyz is served on (PORT for a gateway, CHRONOVERSE_OPS_PORT otherwise). */
  readonly httpPort: number;
  readonly logFile: string;
  #child: ChildProcess | null = null;
  #exits = 0;

  constructor(params: {
    name: string;
    roles: string;
    env: Record<string, string>;
    httpPort: number;
    logFile: string;
  }) {
    this.name = params.name;
    this.roles = params.roles;
    this.env = params.env;
    this.httpPort = params.httpPort;
    this.logFile = params.logFile;
  }

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== null;
  }

  /** Times the process ended without being asked to (a crash). */
  get unexpectedExits(): number {
    return this.#exits;
  }

  start(): void {
    if (this.#child) throw new Error(`${this.name} already runs`);
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(process.execPath, [MAIN, 'start', '--role', this.roles], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    this.#child = child;
    child.once('exit', (code, signal) => {
      log.end(`\n[cluster] ${this.name} exited code=${code} signal=${signal}\n`);
      if (this.#child === child) {
        this.#child = null;
        this.#exits += 1;
      }
    });
  }

  async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      if (!this.#child) throw new Error(`${this.name} exited before it was ready; see ${this.logFile}`);
      try {
        const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2_000) });
        last = `${res.status} ${await res.text()}`;
        if (res.ok) return;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(200);
    }
    throw new Error(`${this.name} not ready after ${timeoutMs} ms (last: ${last}); see ${this.logFile}`);
  }

  /** Ends the process with `signal` (SIGKILL: no cleanup at all) and waits for it to be gone. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = null;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }
}

export class Cluster {
  readonly dir: string;
  readonly #common: Record<string, string>;
  readonly processes: RoleProcess[] = [];

  constructor(dir: string, common: Record<string, string>) {
    this.dir = dir;
    this.#common = common;
  }

  /** Adds (and starts) a process running `roles`; a gateway gets PORT, others CHRONOVERSE_OPS_PORT. */
  async add(name: string, roles: string, env: Record<string, string> = {}): Promise<RoleProcess> {
    await mkdir(this.dir, { recursive: true });
    const httpPort = await freePort();
    const portEnv: Record<string, string> = roles.split(',').includes('gateway')
      ? { PORT: String(httpPort), HOST: '127.0.0.1' }
      : { CHRONOVERSE_OPS_PORT: String(httpPort), CHRONOVERSE_OPS_HOST: '127.0.0.1' };
    const proc = new RoleProcess({
      name,
      roles,
      env: { ...this.#common, ...portEnv, ...env },
      httpPort,
      logFile: join(this.dir, `${name}.log`),
    });
    this.processes.push(proc);
    proc.start();
    return proc;
  }

  get(name: string): RoleProcess {
    const proc = this.processes.find((p) => p.name === name);
    if (!proc) throw new Error(`no process ${name}`);
    return proc;
  }

  async waitReady(timeoutMs?: number): Promise<void> {
    await Promise.all(this.processes.filter((p) => p.running).map((p) => p.waitReady(timeoutMs)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.kill('SIGTERM')));
  }
}

/** Polls `probe` every 250 ms until it returns something truthy (thrown errors count as not yet). */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 60_000,
) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
