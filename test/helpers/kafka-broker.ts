/**
 * A private single-node Apache Kafka broker (KRaft) for tests, run by scripts/kafka-env.sh from
 * jars resolved once from Maven Central (cached under ~/.cache/chronoverse). `stop()` kills the
 * JVM and keeps its data; `start()` brings it back on the same ports with the same topics and
 * committed offsets, so fault-injection tests can take the broker away and back.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Admin } from '@platformatic/kafka';
import { freePort } from './ports.ts';

const run = promisify(execFile);
const script = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/kafka-env.sh');

async function kafkaEnv(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('bash', [script, ...args], {
      timeout: 15 * 60_000, // a fresh machine installs java/maven and downloads the jars
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`scripts/kafka-env.sh ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`, {
      cause: err,
    });
  }
}

/** True once the broker answers a metadata request (listening is not enough: KRaft elects first). */
async function answersMetadata(brokers: string): Promise<boolean> {
  const admin = new Admin({
    clientId: 'cv-test-probe',
    bootstrapBrokers: [brokers],
    retries: 0,
    timeout: 2000,
    connectTimeout: 1000,
  });
  admin.on('error', () => {});
  try {
    const metadata = await admin.metadata({ topics: [] });
    return metadata.brokers.size > 0;
  } catch {
    return false;
  } finally {
    await admin.close().catch(() => {});
  }
}

export class KafkaBroker {
  readonly brokers: string;
  readonly #dir: string;
  readonly #port: number;

  private constructor(port: number, dir: string) {
    this.#port = port;
    this.#dir = dir;
    this.brokers = `127.0.0.1:${port}`;
  }

  static async start(): Promise<KafkaBroker> {
    const broker = new KafkaBroker(await freePort(), await mkdtemp(join(tmpdir(), 'cv-kafka-')));
    try {
      await broker.start();
    } catch (err) {
      await broker.destroy();
      throw err;
    }
    return broker;
  }

  /** Starts (or restarts) the broker on its ports and data; resolves once it answers metadata. */
  async start(): Promise<void> {
    await kafkaEnv(this.#dir, String(this.#port));
    for (let i = 0; i < 600; i++) {
      if (await answersMetadata(this.brokers)) return;
      await sleep(100);
    }
    throw new Error(`the Kafka broker on ${this.brokers} does not answer metadata requests`);
  }

  /** Kills the JVM (no clean shutdown, like a crash); the data directory stays. */
  async stop(): Promise<void> {
    await kafkaEnv(this.#dir, 'stop');
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => {});
    await rm(this.#dir, { recursive: true, force: true, maxRetries: 3 });
  }
}
