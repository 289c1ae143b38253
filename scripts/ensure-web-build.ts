/**
 * `npm start`'s prestart: builds the dashboard (web/dist) when it is missing or older than any
 * source it comes from (web/, src/domain/), so `npm ci && npm start` serves a current dashboard
 * without a separate build step. A failed build is reported but does not stop the server: the
 * API works without the dashboard, and `/` then says how to build it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'web', 'dist');
const marker = join(dist, 'index.html');
const SKIP = new Set(['dist', 'node_modules']);

function newestMtime(dir: string): { mtime: number; file: string } {
  let newest = { mtime: 0, file: '' };
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name) || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    const candidate = entry.isDirectory() ? newestMtime(path) : { mtime: statSync(path).mtimeMs, file: path };
    if (candidate.mtime > newest.mtime) newest = candidate;
  }
  return newest;
}

function staleReason(): string | null {
  if (!existsSync(marker)) return 'web/dist is missing';
  const built = statSync(marker).mtimeMs;
  const sources = [join(root, 'web'), join(root, 'src', 'domain')].map(newestMtime);
  const newest = sources.reduce((a, b) => (b.mtime > a.mtime ? b : a));
  return newest.mtime > built ? `${relative(root, newest.file)} changed since the last build` : null;
}

const reason = staleReason();
if (reason === null) process.exit(0);

const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
if (!existsSync(vite)) {
  console.warn(
    `dashboard not built (${reason}) and Vite is not installed (npm ci installs it); starting without it`,
  );
  process.exit(0);
}
console.log(`building the dashboard: ${reason}`);
const result = spawnSync(
  process.execPath,
  [vite, 'build', '--config', join(root, 'web', 'vite.config.ts'), '--logLevel', 'warn'],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
if (result.status !== 0)
  console.warn('the dashboard build failed; starting without it (see the output above)');
