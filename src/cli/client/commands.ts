/**
 * The client commands of `chronoverse` (those that talk to a server, next to the server ones in
 * src/cli/main.ts): their command lines, and the exit statuses every one of them shares.
 *
 * Exit statuses: 0 done; 1 a run that FAILED, a refused request, a name not found, a definition
 * with problems; 2 a command line we cannot read; 3 a run that was CANCELED; 69 the server cannot
 * be reached; 77 not logged in or credentials refused; 124 `--timeout` passed.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ChronoverseApiError, connect, NotFoundError, UnreachableError } from './api.ts';
import { apply, diff } from './apply.ts';
import { completionScript } from './completion.ts';
import { ContextError, resolveContext, type Env } from './context.ts';
import { exportWorkflows } from './export.ts';
import { describeWorkflow, getJobs, getWorkflows, OUTPUT_FORMATS, type OutputFormat } from './get.ts';
import { contexts, login } from './login.ts';
import { logs } from './logs.ts';
import { Output, type Streams } from './output.ts';
import { backfill } from './backfill.ts';
import { pause, resume } from './pause.ts';
import { cancel, EXIT_TIMEOUT, retry, run, WaitTimeoutError } from './run.ts';
import { parseVersionParam } from '../../domain/workflow-versions.ts';
import { parseDuration } from '../../domain/duration.ts';
import { parseLabelSelector } from '../../domain/labels.ts';
import { CLIENT_COMMANDS, CLIENT_USAGE } from './usage.ts';

export { CLIENT_COMMANDS, CLIENT_USAGE };

/** A command line we cannot read: its message and the usage, exit 2. */
export class ClientUsageError extends Error {}

const COMMON = { context: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;
const OUTPUT = { output: { type: 'string', short: 'o' } } as const;
const SELECTOR = { selector: { type: 'string', short: 'l' } } as const;
const WAIT = { wait: { type: 'boolean' }, timeout: { type: 'string' } } as const;

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new ClientUsageError((err as Error).message);
  }
}

function format(value: string | undefined, allowed: readonly string[], fallback: string): OutputFormat {
  const f = value ?? fallback;
  if (!allowed.includes(f)) throw new ClientUsageError(`-o must be one of ${allowed.join(', ')}, got "${f}"`);
  return f as OutputFormat;
}

function selector(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const parsed = parseLabelSelector(value);
  if (!parsed.ok) throw new ClientUsageError(`-l ${parsed.message}`);
  return value;
}

function timeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === null || ms <= 0)
    throw new ClientUsageError(`--timeout must be a duration such as "10m", got "${value}"`);
  return ms;
}

/** `run --version n`: a version of the workflow's definition (GET /workflows/{id}/versions). */
function versionOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = parseVersionParam(value);
  if (n === null) throw new ClientUsageError(`--version must be a version number such as 2, got "${value}"`);
  return n;
}

function one(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new ClientUsageError(`expected one ${what}`);
  return positionals[0]!;
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stdin) text += String(chunk);
  return text.trim();
}

export interface ClientIo extends Streams {
  env: Env;
  stdin: NodeJS.ReadableStream;
}

/** Runs a client command; resolves with the exit status. */
export async function runClientCommand(argv: string[], io: ClientIo): Promise<number> {
  const out = new Output(io, io.env);
  try {
    return await dispatch(argv, io, out);
  } catch (err) {
    if (err instanceof ClientUsageError) {
      out.note(`chronoverse: ${err.message}\n\n${CLIENT_USAGE}`);
      return 2;
    }
    if (err instanceof ContextError) return fail(out, err.message, 77);
    if (err instanceof UnreachableError) return fail(out, err.message, 69);
    if (err instanceof WaitTimeoutError) return fail(out, err.message, EXIT_TIMEOUT);
    if (err instanceof NotFoundError) return fail(out, err.message, 1);
    if (err instanceof ChronoverseApiError) {
      if (err.status === 401) return fail(out, `${err.message}; log in again (chronoverse login)`, 77);
      return fail(out, err.message, err.status === 403 ? 77 : 1);
    }
    throw err;
  }
}

function fail(out: Output, message: string, code: number): number {
  out.note(`chronoverse: ${message}`);
  return code;
}

async function dispatch(argv: string[], io: ClientIo, out: Output): Promise<number> {
  const [command, ...args] = argv;
  if (args.includes('--help') || args.includes('-h')) {
    out.line(CLIENT_USAGE);
    return 0;
  }
  const api = async (context?: string) => connect(await resolveContext(io.env, context));
  switch (command) {
    case 'login': {
      const { values } = parse(args, {
        server: { type: 'string' },
        token: { type: 'string' },
        'token-stdin': { type: 'boolean' },
      });
      const token = values['token-stdin']
        ? await readStdin(io.stdin)
        : (values.token ?? io.env.CHRONOVERSE_TOKEN);
      const server = values.server ?? io.env.CHRONOVERSE_URL;
      if (!server || !token)
        throw new ClientUsageError('login needs --server <url> and --token <token> (or --token-stdin)');
      return login(out, io.env, { server, token, ...(values.context ? { context: values.context } : {}) });
    }
    case 'context': {
      const { positionals } = parse(args, {});
      return contexts(out, io.env, positionals);
    }
    case 'apply':
    case 'diff': {
      const { values, positionals } = parse(args, {
        filename: { type: 'string', short: 'f', multiple: true },
        'dry-run': { type: 'boolean' },
        prune: { type: 'boolean' },
        ...SELECTOR,
      });
      if (positionals.length > 0)
        throw new ClientUsageError(`unexpected "${positionals[0]}": give files with -f`);
      if (!values.filename?.length) throw new ClientUsageError(`${command} needs -f <file|dir>`);
      if (values.selector !== undefined && !values.prune)
        throw new ClientUsageError('-l limits --prune; give --prune too');
      const options = {
        files: values.filename,
        dryRun: Boolean(values['dry-run']),
        prune: Boolean(values.prune),
        ...(values.selector !== undefined ? { selector: selector(values.selector)! } : {}),
      };
      try {
        return command === 'apply'
          ? await apply(out, await api(values.context), options)
          : await diff(out, await api(values.context), options);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          return fail(out, `no such file or folder: ${(err as NodeJS.ErrnoException).path}`, 1);
        }
        throw err;
      }
    }
    case 'get': {
      const { values, positionals } = parse(args, {
        ...OUTPUT,
        ...SELECTOR,
        workflow: { type: 'string', short: 'w' },
        status: { type: 'string' },
        limit: { type: 'string' },
      });
      const [what, ...names] = positionals;
      const f = format(values.output, OUTPUT_FORMATS, 'table');
      if (what === 'workflows' || what === 'workflow' || what === 'wf') {
        return getWorkflows(out, await api(values.context), {
          format: f,
          names,
          ...(values.selector !== undefined ? { selector: selector(values.selector)! } : {}),
        });
      }
      if (what === 'jobs' || what === 'job') {
        const limit = Number(values.limit ?? 20);
        if (!Number.isInteger(limit) || limit < 1 || limit > 100)
          throw new ClientUsageError('--limit must be 1–100');
        return getJobs(out, await api(values.context), {
          format: f,
          limit,
          ...(values.workflow !== undefined ? { workflow: values.workflow } : {}),
          ...(values.selector !== undefined ? { selector: selector(values.selector)! } : {}),
          ...(values.status !== undefined ? { status: values.status.toUpperCase() } : {}),
        });
      }
      throw new ClientUsageError('get what? workflows or jobs');
    }
    case 'describe': {
      const { values, positionals } = parse(args, OUTPUT);
      const [what, name] = positionals;
      if ((what !== 'workflow' && what !== 'workflows' && what !== 'wf') || !name || positionals.length > 2) {
        throw new ClientUsageError('usage: chronoverse describe workflow <name>');
      }
      return describeWorkflow(
        out,
        await api(values.context),
        name,
        format(values.output, ['table', 'json', 'yaml'], 'table'),
      );
    }
    case 'run': {
      const { values, positionals } = parse(args, { ...WAIT, ...OUTPUT, version: { type: 'string' } });
      const ms = timeout(values.timeout);
      const version = versionOption(values.version);
      return run(out, await api(values.context), {
        workflow: one(positionals, 'workflow'),
        ...(version !== undefined ? { version } : {}),
        wait: Boolean(values.wait),
        json: format(values.output, ['table', 'json'], 'table') === 'json',
        ...(ms !== undefined ? { timeoutMs: ms } : {}),
      });
    }
    case 'logs': {
      const { values, positionals } = parse(args, {
        follow: { type: 'boolean', short: 'f' },
        timestamps: { type: 'boolean' },
        workflow: { type: 'string', short: 'w' },
        task: { type: 'string', short: 't' },
      });
      return logs(out, await api(values.context), {
        job: one(positionals, 'job id (or workflow name)'),
        follow: Boolean(values.follow),
        timestamps: Boolean(values.timestamps),
        ...(values.workflow !== undefined ? { workflow: values.workflow } : {}),
        ...(values.task !== undefined ? { task: values.task } : {}),
      });
    }
    case 'cancel': {
      const { values, positionals } = parse(args, { workflow: { type: 'string', short: 'w' } });
      return cancel(out, await api(values.context), {
        job: one(positionals, 'job id'),
        ...(values.workflow !== undefined ? { workflow: values.workflow } : {}),
      });
    }
    case 'retry': {
      const { values, positionals } = parse(args, {
        workflow: { type: 'string', short: 'w' },
        ...WAIT,
        ...OUTPUT,
      });
      const ms = timeout(values.timeout);
      return retry(out, await api(values.context), {
        job: one(positionals, 'job id'),
        wait: Boolean(values.wait),
        json: format(values.output, ['table', 'json'], 'table') === 'json',
        ...(values.workflow !== undefined ? { workflow: values.workflow } : {}),
        ...(ms !== undefined ? { timeoutMs: ms } : {}),
      });
    }
    case 'pause': {
      const { values, positionals } = parse(args, { note: { type: 'string' }, ...OUTPUT });
      return pause(out, await api(values.context), {
        workflow: one(positionals, 'workflow'),
        json: format(values.output, ['table', 'json'], 'table') === 'json',
        ...(values.note !== undefined ? { note: values.note } : {}),
      });
    }
    case 'backfill': {
      const { values, positionals } = parse(args, {
        from: { type: 'string' },
        to: { type: 'string' },
        'max-parallel': { type: 'string' },
        overlap: { type: 'string' },
        'dry-run': { type: 'boolean' },
        ...OUTPUT,
      });
      if (values.from === undefined || values.to === undefined) {
        throw new ClientUsageError(
          'usage: chronoverse backfill <workflow> --from <time> --to <time> [--dry-run]',
        );
      }
      const maxParallel = values['max-parallel'];
      if (maxParallel !== undefined && !/^\d+$/.test(maxParallel)) {
        throw new ClientUsageError('--max-parallel takes a whole number');
      }
      return backfill(out, await api(values.context), {
        workflow: one(positionals, 'workflow'),
        from: values.from,
        to: values.to,
        dryRun: Boolean(values['dry-run']),
        json: format(values.output, ['table', 'json'], 'table') === 'json',
        ...(maxParallel !== undefined ? { maxParallel: Number(maxParallel) } : {}),
        // Checked by the server (a 400 naming `overlap`).
        ...(values.overlap !== undefined ? { overlap: values.overlap as 'ALLOW_ALL' | 'BUFFER_ALL' } : {}),
      });
    }
    case 'resume': {
      const { values, positionals } = parse(args, OUTPUT);
      return resume(out, await api(values.context), {
        workflow: one(positionals, 'workflow'),
        json: format(values.output, ['table', 'json'], 'table') === 'json',
      });
    }
    case 'export': {
      const { values, positionals } = parse(args, {
        ...OUTPUT,
        ...SELECTOR,
        dir: { type: 'string', short: 'd' },
      });
      return exportWorkflows(out, await api(values.context), {
        names: positionals,
        ...(values.dir !== undefined ? { dir: values.dir } : {}),
        format: format(values.output, ['yaml', 'json'], 'yaml') as 'yaml' | 'json',
        ...(values.selector !== undefined ? { selector: selector(values.selector)! } : {}),
      });
    }
    case 'completion': {
      const { positionals } = parse(args, {});
      const script = completionScript(positionals[0] ?? '');
      if (!script) throw new ClientUsageError('usage: chronoverse completion bash|zsh');
      out.raw(script);
      return 0;
    }
    default:
      throw new ClientUsageError(`unknown command "${command}"`);
  }
}
