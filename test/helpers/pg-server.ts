/**
 * A private PostgreSQL server for tests that restart it: Debian's `initdb`/`pg_ctl` on a temporary
 * directory and a free port, run as the `postgres` user when we are root (initdb refuses root).
 * Trust authentication on loopback only; fsync off (the data is thrown away).
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.ts';

const run = promisify(execFile);

function binDir(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

export class PgServer {
  readonly port: number;
  readonly #dir: string;
  readonly #asPostgres: boolean;

  private constructor(port: number, dir: string, asPostgres: boolean) {
    this.port = port;
    this.#dir = dir;
    this.#asPostgres = asPostgres;
  }

  static async start(): Promise<PgServer> {
    const dir = await mkdtemp(join(tmpdir(), 'cv-pg-'));
    const asPostgres = userInfo().uid === 0;
    if (asPostgres) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      await chown(dir, Number(stdout.trim()), Number(gid.trim()));
      await chmod(dir, 0o700);
    }
    const server = new PgServer(await freePort(), dir, asPostgres);
    await server.#exec('initdb', [
      '-D',
      join(dir, 'data'),
      '-U',
      'postgres',
      '-A',
      'trust',
      '--no-sync',
      '-E',
      'UTF8',
    ]);
    await server.start();
    return server;
  }

  /** URL of database `name` (the server's own `postgres` database by default). */
  url(name = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${name}`;
  }

  async start(): Promise<void> {
    await this.#exec('pg_ctl', [
      '-D',
      join(this.#dir, 'data'),
      '-l',
      join(this.#dir, 'server.log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${this.port} -k ${this.#dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300`,
      'start',
    ]);
  }

  /** Fast shutdown: open connections are cut, as when a server restarts under load. */
  async stop(): Promise<void> {
    await this.#exec('pg_ctl', ['-D', join(this.#dir, 'data'), '-m', 'fast', '-w', 'stop']);
  }

  async destroy(): Promise<void> {
    await this.#exec('pg_ctl', ['-D', join(this.#dir, 'data'), '-m', 'immediate', '-w', 'stop']).catch(
      () => {},
    );
    await rm(this.#dir, { recursive: true, force: true });
  }

  async #exec(tool: string, args: string[]): Promise<void> {
    const bin = join(binDir(), tool);
    const [file, argv] = this.#asPostgres ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
    try {
      await run(file, argv, { timeout: 120_000 });
    } catch (err) {
      const e = err as Error & { stderr?: string; stdout?: string };
      throw new Error(`${tool} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
    }
  }
}
