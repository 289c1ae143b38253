#!/usr/bin/env node
/**
 * The `chronoverse` command line.
 *
 *   chronoverse start [--role gateway,users,...]   run roles (default: all) in one process
 *   chronoverse migrate                            apply database migrations
 *   chronoverse users create --email E [--password P] [--admin]
 *   chronoverse config print|check|docs            resolved config, validation, markdown reference
 *   chronoverse roles                              the role graph
 *   chronoverse keys generate                      a service identity key pair, as env lines
 *
 * and the client commands, which talk to a server (src/cli/client/commands.ts): login, context,
 * apply, diff, get, describe, run, logs, cancel, retry, export, completion.
 */
// First: the compile cache must be on before the modules it should cover are loaded.
import './compile-cache.ts';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ConfigError, displayValue, listLeaves, loadConfig, renderConfigDocs } from '../config/load.ts';
import { ValidationError } from '../domain/errors.ts';
import { DataDirLockedError } from '../platform/db/data-dir-lock.ts';
import { TRACING_OFF, tracesUrl } from '../platform/telemetry/tracing.ts';
import { CLIENT_COMMANDS, CLIENT_USAGE } from './client/usage.ts';
import { describeRoles, UnknownRoleError } from './roles.ts';
import type { Runtime } from './runtime.ts';
import { VERSION } from './version.ts';

// Each command imports what it uses when it runs: `start` does not load the client, the client
// commands do not load the server, and the tracing SDK loads only when an endpoint is set.
const db = () => Promise.all([import('../platform/db/database.ts'), import('../platform/db/migrate.ts')]);

const USAGE = `chronoverse ${VERSION}

Usage:
  chronoverse start [--role <role>[,<role>...]]   run roles in this process (default: all)
  chronoverse migrate                             apply database migrations and exit
  chronoverse users create --email <email> [--password <pw>] [--admin]
  chronoverse config print | check | docs         show, validate or document the configuration
  chronoverse roles                               list roles and their dependencies
  chronoverse keys generate                       print a new service identity key pair (env lines)

Configuration comes from environment variables; see docs/configuration.md.

${CLIENT_USAGE}`;

const USERS_LOCKED_HINT = `
While the server runs, create accounts through it instead (the dashboard's sign-up page, or
POST /api/v1/auth/register; the first account becomes admin).`;

function fail(message: string, code = 1): never {
  process.stderr.write(`chronoverse: ${message}\n`);
  process.exit(code);
}

const COMMANDS = [
  'start',
  'migrate',
  'users',
  'config',
  'keys',
  'roles',
  'help',
  ...CLIENT_COMMANDS,
] as const;

const VALUE_OPTIONS = ['--role', '--roles', '--email', '--password'];

/** Thrown for a command line we cannot read: the message and the usage, exit 2, no stack. */
class UsageError extends Error {}

function parseCommandLine(argv: string[]) {
  // An unknown command first: `chronoverse logs -f` should say "unknown command", not complain
  // about the option of a command that does not exist.
  const first = argv.find((a, i) => !a.startsWith('-') && !VALUE_OPTIONS.includes(argv[i - 1] ?? ''));
  if (first !== undefined && !(COMMANDS as readonly string[]).includes(first)) {
    throw new UsageError(`unknown command "${first}"`);
  }
  try {
    return parseCommandLineStrict(argv);
  } catch (err) {
    if (String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError((err as Error).message);
    }
    throw err;
  }
}

function parseCommandLineStrict(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      role: { type: 'string', multiple: true },
      roles: { type: 'string', multiple: true },
      email: { type: 'string' },
      password: { type: 'string' },
      admin: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      version: { type: 'boolean', short: 'v', default: false },
    },
  });
}

async function main(argv: string[]): Promise<void> {
  // The client commands come first on their command line and parse the rest themselves. They get
  // the environment as a value: only this entry reads process.env (CHRONOVERSE_URL, _TOKEN,
  // XDG_CONFIG_HOME, NO_COLOR).
  if ((CLIENT_COMMANDS as readonly string[]).includes(argv[0] ?? '')) {
    const { runClientCommand } = await import('./client/commands.ts');
    const code = await runClientCommand(argv, {
      env: { ...process.env },
      stdout: process.stdout,
      stderr: process.stderr,
      stdin: process.stdin,
    });
    // Pipes and files are written synchronously on Linux: nothing printed is lost by exiting now,
    // and an idle keep-alive connection does not hold the command open.
    process.exit(code);
  }
  const { positionals, values } = parseCommandLine(argv);
  const [command, sub] = positionals;
  if (values.version) return void process.stdout.write(`${VERSION}\n`);
  if (values.help || command === undefined || command === 'help')
    return void process.stdout.write(`${USAGE}\n`);

  switch (command) {
    case 'start': {
      const config = loadConfig();
      const [{ createLogger }, { guardAgainstDeferredGoaway }] = await Promise.all([
        import('../platform/logger.ts'),
        import('../platform/rpc/goaway-guard.ts'),
      ]);
      const logger = createLogger(config.log.level);
      guardAgainstDeferredGoaway(logger);
      const roles = [...(values.role ?? []), ...(values.roles ?? [])]
        .flatMap((r) => r.split(','))
        .map((r) => r.trim())
        .filter(Boolean);
      // Before anything runs, so every span has the provider (docs/observability.md).
      const tracingOptions = {
        endpoint: config.telemetry.otlpEndpoint,
        tracesEndpoint: config.telemetry.otlpTracesEndpoint,
        headers: config.telemetry.otlpHeaders,
        sampleRatio: config.telemetry.sampleRatio,
        roles,
        version: VERSION,
      };
      const tracing =
        tracesUrl(tracingOptions) === ''
          ? TRACING_OFF
          : (await import('../platform/telemetry/tracing-sdk.ts')).initTracing(tracingOptions);
      // The handlers come first: a signal that arrives while the roles start (or in the moment
      // between the "is up" line and the end of start) is then a clean stop once they have
      // started, never the default action, which kills the process and leaves its lock behind.
      let runtime: Runtime | null = null;
      let requested: string | null = null;
      let stopping = false;
      const shutdown = (signal: string) => {
        if (!runtime) {
          requested ??= signal;
          return;
        }
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'shutting down');
        runtime
          .stop()
          .then(() => tracing.shutdown())
          .then(
            () => process.exit(0),
            (err: unknown) => {
              logger.error({ err }, 'shutdown failed');
              process.exit(1);
            },
          );
      };
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      const { startRuntime } = await import('./runtime.ts');
      runtime = await startRuntime({ config, logger, roles });
      if (requested) shutdown(requested);
      return;
    }
    case 'migrate': {
      const config = loadConfig();
      const [{ openDatabase }, { ensureJobLogPartitions, migrate }] = await db();
      const database = await openDatabase({ ...config.database });
      try {
        const result = await migrate(database.db);
        await ensureJobLogPartitions(database.db);
        process.stdout.write(
          result.applied.length
            ? `applied ${result.applied.join(', ')}; schema version ${result.current}\n`
            : `already up to date; schema version ${result.current}\n`,
        );
      } finally {
        await database.close();
      }
      return;
    }
    case 'users': {
      if (sub !== 'create')
        fail('usage: chronoverse users create --email <email> [--password <pw>] [--admin]', 2);
      const generated = values.password === undefined;
      const password = values.password ?? randomBytes(15).toString('base64url');
      const { CredentialsSchema } = await import('../domain/user-input.ts');
      const parsed = CredentialsSchema.safeParse({ email: values.email ?? '', password });
      if (!parsed.success) {
        fail(parsed.error.issues.map((i) => `--${String(i.path[0])} ${i.message}`).join('; '), 2);
      }
      const config = loadConfig();
      const [[{ openDatabase }, { migrate }], { UsersService }, { systemClock }] = await Promise.all([
        db(),
        import('../services/users/service.ts'),
        import('../platform/clock.ts'),
      ]);
      const database = await openDatabase({ ...config.database });
      try {
        await migrate(database.db);
        const users = new UsersService(database.db, systemClock, config.auth);
        const user = await users.createUser({
          ...parsed.data,
          ...(values.admin ? { role: 'admin' as const } : {}),
        });
        process.stdout.write(`created ${user.role} ${user.email} (${user.id})\n`);
        if (generated) process.stdout.write(`password: ${password}\n`);
      } finally {
        await database.close();
      }
      return;
    }
    case 'config': {
      if (sub === 'docs') return void process.stdout.write(renderConfigDocs());
      const config = loadConfig();
      if (sub === 'check') return void process.stdout.write('configuration is valid\n');
      if (sub === 'print') {
        const lines = listLeaves().map(({ path, leaf }) => {
          const value = path
            .split('.')
            .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);
          const shown = displayValue(leaf, value);
          return `${leaf.env}=${shown}`;
        });
        return void process.stdout.write(`${lines.join('\n')}\n`);
      }
      fail('usage: chronoverse config print | check | docs', 2);
      break;
    }
    case 'keys': {
      if (sub !== 'generate') fail('usage: chronoverse keys generate', 2);
      // One line each, newlines escaped: env files and secret stores take them as is (the loader
      // turns \n back into newlines). Every process gets the public key; callers the private one.
      const { generateServiceKeyPair } = await import('../platform/rpc/identity.ts');
      const { privateKeyPem, publicKeyPem } = generateServiceKeyPair();
      const line = (pem: string) => JSON.stringify(pem.trim()).slice(1, -1);
      return void process.stdout.write(
        `CHRONOVERSE_SERVICE_PRIVATE_KEY="${line(privateKeyPem)}"\nCHRONOVERSE_SERVICE_PUBLIC_KEY="${line(publicKeyPem)}"\n`,
      );
    }
    case 'roles':
      return void process.stdout.write(`${describeRoles()}\n`);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) fail(`${err.message}\n\n${USAGE}`, 2);
  if (err instanceof ConfigError) fail(err.message, 78);
  // EX_TEMPFAIL: nothing is wrong with the command; it can run once the other process stops.
  if (err instanceof DataDirLockedError) {
    fail(`${err.message}.${process.argv.includes('users') ? USERS_LOCKED_HINT : ''}`, 75);
  }
  if (err instanceof UnknownRoleError) fail(err.message, 2);
  if (err instanceof ValidationError) fail(err.issues.map((i) => `${i.path} ${i.message}`).join('; '), 2);
  const e = err as { code?: string; message?: string };
  if (e.code === 'CV_EMAIL_TAKEN') fail(e.message ?? 'email taken', 1);
  if (e.code === 'EADDRINUSE') fail(`${e.message}: the port is taken; set PORT to another one`, 1);
  if (e.code === 'ECONNREFUSED') fail(`cannot reach the database (${e.message}); check DATABASE_URL`, 1);
  fail(err instanceof Error ? (err.stack ?? err.message) : String(err));
});
