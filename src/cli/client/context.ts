/**
 * Where the client commands send their requests: contexts (a server URL and a token, by name) in
 * `${XDG_CONFIG_HOME:-~/.config}/chronoverse/config.yaml`, as kubectl keeps them, written with mode
 * 0600 since it holds tokens. `CHRONOVERSE_URL` and `CHRONOVERSE_TOKEN` override the current
 * context's fields (CI sets both and needs no file); `--context` picks another context for one
 * command. The environment arrives as a plain object: only the CLI entry reads `process.env`.
 *
 *   current-context: prod
 *   contexts:
 *     - name: prod
 *       server: https://chronoverse.example.com
 *       token: cvp_…
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';

export interface Context {
  name: string;
  server: string;
  token: string;
}

export interface ClientConfig {
  'current-context': string | null;
  contexts: Context[];
}

export type Env = Record<string, string | undefined>;

/** A problem with the configuration or the credentials: exit 77 (EX_NOPERM) when it is about them. */
export class ContextError extends Error {}

export function configPath(env: Env): string {
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'chronoverse', 'config.yaml');
}

export async function readClientConfig(env: Env): Promise<ClientConfig> {
  const file = configPath(env);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { 'current-context': null, contexts: [] };
    throw err;
  }
  const doc = (parse(text) ?? {}) as Partial<ClientConfig>;
  const contexts = Array.isArray(doc.contexts) ? doc.contexts : [];
  for (const c of contexts) {
    if (typeof c?.name !== 'string' || typeof c.server !== 'string' || typeof c.token !== 'string') {
      throw new ContextError(`${file}: every context needs a name, a server and a token`);
    }
  }
  return { 'current-context': doc['current-context'] ?? null, contexts };
}

/** Writes the file (and its folder) readable by its owner only, replacing it in one rename. */
export async function writeClientConfig(env: Env, config: ClientConfig): Promise<string> {
  const file = configPath(env);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, stringify(config), { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, file);
  return file;
}

/** Adds or replaces a context and makes it the current one. */
export async function saveContext(env: Env, context: Context): Promise<string> {
  const config = await readClientConfig(env);
  const contexts = config.contexts.filter((c) => c.name !== context.name);
  contexts.push(context);
  return writeClientConfig(env, { 'current-context': context.name, contexts });
}

export async function useContext(env: Env, name: string): Promise<void> {
  const config = await readClientConfig(env);
  if (!config.contexts.some((c) => c.name === name)) {
    throw new ContextError(`no context "${name}" in ${configPath(env)} (chronoverse context lists them)`);
  }
  await writeClientConfig(env, { ...config, 'current-context': name });
}

/** Forgets a context and its token (the current one too: then none is current). */
export async function deleteContext(env: Env, name: string): Promise<void> {
  const config = await readClientConfig(env);
  if (!config.contexts.some((c) => c.name === name)) {
    throw new ContextError(`no context "${name}" in ${configPath(env)}`);
  }
  await writeClientConfig(env, {
    'current-context': config['current-context'] === name ? null : config['current-context'],
    contexts: config.contexts.filter((c) => c.name !== name),
  });
}

/** The server and token a command uses: the context (current or `--context`), then the overrides. */
export async function resolveContext(env: Env, name?: string): Promise<Context> {
  const config = await readClientConfig(env);
  const wanted = name ?? config['current-context'];
  const context = wanted ? config.contexts.find((c) => c.name === wanted) : undefined;
  if (name && !context) throw new ContextError(`no context "${name}" in ${configPath(env)}`);
  const server = env.CHRONOVERSE_URL || context?.server;
  const token = env.CHRONOVERSE_TOKEN || context?.token;
  if (!server || !token) {
    throw new ContextError(
      'not logged in: run `chronoverse login --server <url> --token <personal access token>` ' +
        '(or set CHRONOVERSE_URL and CHRONOVERSE_TOKEN)',
    );
  }
  return { name: context?.name ?? 'environment', server: server.replace(/\/+$/, ''), token };
}
