/**
 * One process per PGlite data directory. PGlite is a single-process database: a second process
 * on the same directory (a second `start`, or `users create`/`migrate` beside a running server)
 * would write to files the first one has cached, and its writes are lost or corrupt the data.
 *
 * A lock file next to the directory (`<dir>.lock`, so it survives replacing the directory from a
 * backup) holds the owner's pid. A stale lock (its pid is dead, or it is our own pid left by an
 * earlier process that got the same pid, as pid 1 in a container does) is taken over. Within one
 * process a second open of a held directory is refused as well.
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';

export class DataDirLockedError extends Error {
  readonly pid: number;
  readonly dataDir: string;
  constructor(dataDir: string, pid: number) {
    super(
      `another Chronoverse process (pid ${pid}) is using DATA_DIR ${dataDir}; ` +
        'stop it first, or point this command at another DATA_DIR',
    );
    this.name = 'DataDirLockedError';
    this.pid = pid;
    this.dataDir = dataDir;
  }
}

const heldHere = new Set<string>();

/** Takes the lock for `dataDir` (creating its parent folder); resolves with the release function. */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const absolute = path.resolve(dataDir);
  const lockPath = `${absolute}.lock`;
  // The lock lives beside the directory: on a fresh clone neither exists yet (the quick start
  // failed with ENOENT here when only the directory itself was created, later).
  await mkdir(path.dirname(absolute), { recursive: true });
  if (heldHere.has(lockPath)) throw new DataDirLockedError(dataDir, process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath, 'wx');
      try {
        await handle.writeFile(String(process.pid));
      } finally {
        await handle.close();
      }
      heldHere.add(lockPath);
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        heldHere.delete(lockPath);
        await rm(lockPath, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
      if (pid > 0 && pid !== process.pid && isAlive(pid)) throw new DataDirLockedError(dataDir, pid);
      await rm(lockPath, { force: true });
    }
  }
  throw new Error(`could not lock DATA_DIR ${dataDir}: its lock file ${lockPath} keeps reappearing`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
