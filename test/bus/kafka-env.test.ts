/**
 * scripts/kafka-env.sh formats a fresh broker with a random KRaft cluster id. One id in 64 used to
 * start with '-', which kafka-storage took for an option, so the broker (and a CI run) failed to
 * start. Here the random bytes are chosen so that the id would start with '-'.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.ts';

const run = promisify(execFile);
const SCRIPT = path.resolve('scripts/kafka-env.sh');
let dir: string | undefined;

afterAll(async () => {
  if (!dir) return;
  await run('bash', [SCRIPT, dir, 'stop']).catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

describe('scripts/kafka-env.sh', () => {
  it(
    'formats and starts a broker when the random cluster id would start with "-"',
    async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'cv-kafka-env-'));
      // 0xf8 encodes to '+' in base64, which the script maps to '-' (base64url).
      const bytes = Buffer.from([0xf8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
      const unsafe = bytes.toString('base64url');
      expect(unsafe.startsWith('-')).toBe(true);
      const source = path.join(dir, 'random.bin');
      await writeFile(source, bytes);
      const port = await freePort();

      const { stdout } = await run('bash', [SCRIPT, path.join(dir, 'broker'), String(port)], {
        env: { ...process.env, KAFKA_RANDOM_SOURCE: source },
        timeout: 15 * 60_000,
      });

      expect(stdout.trim().split('\n').at(-1)).toBe(`127.0.0.1:${port}`);
      const meta = await readFile(path.join(dir, 'broker', 'data', 'meta.properties'), 'utf8');
      expect(meta).toContain(`cluster.id=A${unsafe.slice(1)}\n`);
    },
    16 * 60_000,
  );
});
