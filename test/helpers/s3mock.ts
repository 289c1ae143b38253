/**
 * A private S3Mock server for one test file, run by scripts/s3mock-env.sh from the jar resolved
 * once from Maven Central (cached under ~/.cache/chronoverse). It takes any credentials and checks
 * no signatures, so what a signature covers is tested on the URL itself (test/artifacts).
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { S3StoreConfig } from '../../src/platform/artifacts/s3-store.ts';
import { freePort } from './ports.ts';

const run = promisify(execFile);
const script = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/s3mock-env.sh');

async function s3mockEnv(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('bash', [script, ...args], {
      timeout: 15 * 60_000, // a fresh machine installs java/maven and downloads the jar
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`scripts/s3mock-env.sh ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`, {
      cause: err,
    });
  }
}

export class S3Mock {
  readonly endpoint: string;
  readonly #dir: string;

  private constructor(endpoint: string, dir: string) {
    this.endpoint = endpoint;
    this.#dir = dir;
  }

  static async start(): Promise<S3Mock> {
    const dir = await mkdtemp(join(tmpdir(), 'cv-s3mock-'));
    try {
      const port = await freePort();
      const stdout = await s3mockEnv(dir, String(port));
      return new S3Mock(stdout.trim().split('\n').at(-1)!, dir);
    } catch (err) {
      await s3mockEnv(dir, 'stop').catch(() => {});
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** A store configuration on a new, empty bucket of this server. */
  async bucket(name: string): Promise<S3StoreConfig> {
    const config: S3StoreConfig = {
      endpoint: this.endpoint,
      bucket: name,
      region: 'us-east-1',
      accessKeyId: 'test-access-key',
      secretAccessKey: 'test-secret-key',
      forcePathStyle: true,
    };
    const client = new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      forcePathStyle: true,
      credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    });
    try {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    } finally {
      client.destroy();
    }
    return config;
  }

  async destroy(): Promise<void> {
    await s3mockEnv(this.#dir, 'stop').catch(() => {});
    await rm(this.#dir, { recursive: true, force: true });
  }
}
