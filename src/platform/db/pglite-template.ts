/**
 * A ready-made PGlite data directory for new DATA_DIRs: initdb and every migration, done once per
 * installation (`npm ci` runs scripts/pglite-template.ts through `prepare`) instead of at every
 * first start. PGlite's initdb is most of a first start: about 6 s of CPU on the 2-core machine,
 * the migrations about 0.4 s (docs/performance.md, Startup).
 *
 * - The template lives in `node_modules/.cache/chronoverse/pglite-<key>`; the key hashes the
 *   PGlite version and the name and checksum of every migration, so a template is only ever used
 *   by the build that made it (another PGlite or another migration set: no template, the start
 *   runs initdb and the migrations as before). `migrate()` checks the checksums again anyway.
 * - Only `chronoverse start` seeds from it (`openDatabase({ seedFromTemplate: true })`), and only
 *   a data directory that does not exist yet or is empty, under the data-dir lock. The copy is
 *   made beside the directory and renamed into place, so a crash mid-copy leaves no half data
 *   directory behind (only a `<dir>.seed-<pid>` folder, removed by the next attempt's owner or by
 *   hand).
 * - The template is a cleanly shut down PostgreSQL directory, the same files initdb and the
 *   migrations would write; the differences are the migrations' `applied_at` (when the template
 *   was made) and the cluster's system identifier, which every directory made from one template
 *   shares (PGlite has no replication that would care).
 * - Best effort everywhere: no template, an unwritable cache or a failed copy means the normal
 *   first start.
 */
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMigrations, migrate } from './migrate.ts';

const CACHE_DIR = fileURLToPath(new URL('../../../node_modules/.cache/chronoverse/', import.meta.url));
/** Bump when what a template contains changes in a way the key does not see. */
const FORMAT = 1;

async function pgliteVersion(): Promise<string> {
  const entry = fileURLToPath(import.meta.resolve('@electric-sql/pglite'));
  const pkg = path.join(entry.slice(0, entry.lastIndexOf(`${path.sep}dist${path.sep}`)), 'package.json');
  return (JSON.parse(await readFile(pkg, 'utf8')) as { version: string }).version;
}

/** Where the template of this build is (whether or not it exists). */
export async function templatePath(): Promise<string> {
  const migrations = await loadMigrations();
  const key = createHash('sha256')
    .update(JSON.stringify([FORMAT, await pgliteVersion(), migrations.map((m) => [m.name, m.checksum])]))
    .digest('hex')
    .slice(0, 16);
  return path.join(CACHE_DIR, `pglite-${key}`);
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Makes the template of this build unless it exists; resolves with its path. `open` is
 * ./database.ts's openDatabase (passed in: that module imports this one).
 */
export async function buildTemplate(
  open: (dataDir: string) => Promise<{ db: Parameters<typeof migrate>[0]; close(): Promise<void> }>,
): Promise<string> {
  const target = await templatePath();
  if (await exists(path.join(target, 'PG_VERSION'))) return target;
  await mkdir(CACHE_DIR, { recursive: true });
  const building = `${target}.tmp-${process.pid}`;
  await rm(building, { recursive: true, force: true });
  try {
    const database = await open(building);
    try {
      await migrate(database.db);
    } finally {
      await database.close();
    }
    // Another process may have made it meanwhile: theirs is as good.
    if (await exists(target)) return target;
    await rename(building, target);
    // Templates of earlier builds (another PGlite, older migrations) are never used again.
    for (const old of await readdir(CACHE_DIR)) {
      if (/^pglite-[0-9a-f]{16}$/.test(old) && path.join(CACHE_DIR, old) !== target) {
        await rm(path.join(CACHE_DIR, old), { recursive: true, force: true });
      }
    }
    return target;
  } finally {
    await rm(building, { recursive: true, force: true });
    await rm(`${building}.lock`, { force: true });
  }
}

/**
 * Seeds a new (missing or empty) data directory from the template when there is one. True when
 * it did; false leaves the directory as it was. The caller holds the data-dir lock.
 */
export async function seedFromTemplate(dataDir: string): Promise<boolean> {
  try {
    const entries = await readdir(dataDir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    if (entries.length > 0) return false;
    const template = await templatePath();
    if (!(await exists(path.join(template, 'PG_VERSION')))) return false;
    const seeding = `${path.resolve(dataDir)}.seed-${process.pid}`;
    await rm(seeding, { recursive: true, force: true });
    try {
      await copyTree(template, seeding);
      // Replaces an empty directory, or creates it.
      await rename(seeding, dataDir);
      return true;
    } finally {
      await rm(seeding, { recursive: true, force: true });
    }
  } catch {
    return false;
  }
}

/**
 * Copies a directory tree, many files at a time, keeping each file's and directory's mode. The
 * template is ~1,160 files (41 MB): `fs.cp` copies them one after another, 1.1 s of a 2.7 s first
 * start on this machine; 16 at a time, 0.25 s (PostgreSQL's files are small, so the time is in
 * the per-file system calls, not in the bytes).
 */
async function copyTree(from: string, to: string, width = 16): Promise<void> {
  const files: string[] = [];
  const dirs = [''];
  for (let i = 0; i < dirs.length; i++) {
    for (const entry of await readdir(path.join(from, dirs[i]!), { withFileTypes: true })) {
      const rel = path.join(dirs[i]!, entry.name);
      if (entry.isDirectory()) dirs.push(rel);
      else if (entry.isFile()) files.push(rel);
      else throw new Error(`template holds ${rel}, which is neither a file nor a directory`);
    }
  }
  for (const dir of dirs) {
    await mkdir(path.join(to, dir), { recursive: true });
    await chmod(path.join(to, dir), (await stat(path.join(from, dir))).mode & 0o7777);
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < files.length) {
        const rel = files[next++]!;
        await copyFile(path.join(from, rel), path.join(to, rel));
        await chmod(path.join(to, rel), (await stat(path.join(from, rel))).mode & 0o7777);
      }
    }),
  );
}
