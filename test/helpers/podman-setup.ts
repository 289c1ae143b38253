/**
 * Once per test run: starts a private Podman engine (scripts/podman-env.sh, which installs podman
 * when missing and imports a tiny local busybox image) and hands its Docker-API socket to the
 * tests as `inject('dockerHost')`, the image as `inject('testImage')`. The engine, its storage
 * and its socket live in a fresh temporary directory, removed again at teardown.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

const run = promisify(execFile);
const script = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/podman-env.sh');
export const TEST_IMAGE = 'localhost/chronoverse-test/busybox:latest';

async function podmanEnv(dir: string, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('bash', [script, dir, ...args], {
      timeout: 15 * 60_000, // installing podman on a fresh machine takes a while
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`scripts/podman-env.sh ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`, {
      cause: err,
    });
  }
}

export default async function setup(project: TestProject) {
  // Short path: a unix socket path must stay under ~108 bytes.
  const dir = await mkdtemp(join(tmpdir(), 'cv-podman-'));
  const stdout = await podmanEnv(dir);
  const socketUrl = stdout.trim().split('\n').at(-1) ?? '';
  if (!socketUrl.startsWith('unix://')) {
    throw new Error(`scripts/podman-env.sh printed no socket URL (got ${JSON.stringify(stdout)})`);
  }
  project.provide('dockerHost', socketUrl);
  project.provide('testImage', TEST_IMAGE);

  return async () => {
    await podmanEnv(dir, 'stop');
    await rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    dockerHost: string;
    testImage: string;
  }
}
