/**
 * `login` and `context`: saving a server and a personal access token as a context, checked first
 * against the server (`POST /auth/validate`), and choosing the current context.
 */
import { unwrap } from './api.ts';
import { connect } from './api.ts';
import { configPath, deleteContext, readClientConfig, saveContext, useContext, type Env } from './context.ts';
import type { Output } from './output.ts';

export async function login(
  out: Output,
  env: Env,
  options: { server: string; token: string; context?: string },
): Promise<number> {
  let url: URL;
  try {
    url = new URL(options.server);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    out.note(`--server must be an http:// or https:// URL, got "${options.server}"`);
    return 2;
  }
  const server = url.href.replace(/\/+$/, '');
  const name = options.context ?? url.host;
  const api = connect({ name, server, token: options.token });
  const { user } = unwrap(await api.POST('/api/v1/auth/validate', {}));
  const file = await saveContext(env, { name, server, token: options.token });
  out.line(`logged in to ${server} as ${user.email} (context "${name}", saved in ${file})`);
  return 0;
}

export async function contexts(out: Output, env: Env, args: string[]): Promise<number> {
  if (args[0] === 'use' || args[0] === 'delete') {
    if (!args[1]) {
      out.note(`usage: chronoverse context ${args[0]} <name>`);
      return 2;
    }
    if (args[0] === 'use') {
      await useContext(env, args[1]);
      out.line(`current context: ${args[1]}`);
    } else {
      // The token stays valid on the server: revoke it there (DELETE /auth/tokens/{id}) if it leaked.
      await deleteContext(env, args[1]);
      out.line(`context ${args[1]} deleted`);
    }
    return 0;
  }
  const config = await readClientConfig(env);
  if (config.contexts.length === 0) {
    out.note(`no contexts in ${configPath(env)}; run chronoverse login`);
    return 0;
  }
  out.table(
    ['CURRENT', 'NAME', 'SERVER'],
    config.contexts.map((c) => [c.name === config['current-context'] ? '*' : '', c.name, c.server]),
  );
  return 0;
}
