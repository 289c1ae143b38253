/**
 * A private GreenMail SMTP server for tests, run by scripts/greenmail-env.sh from the jar resolved
 * once from Maven Central (cached under ~/.cache/chronoverse). Mail is read back through its REST
 * API. `stop()` kills the JVM; `start()` brings it back on the same ports (mail received before
 * is gone), so a test can take SMTP away and back.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from './ports.ts';

const run = promisify(execFile);
const script = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/greenmail-env.sh');

async function greenmailEnv(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('bash', [script, ...args], {
      timeout: 15 * 60_000, // a fresh machine installs java/maven and downloads the jar
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`scripts/greenmail-env.sh ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`, {
      cause: err,
    });
  }
}

/** A message as GreenMail's REST API lists it. */
export interface ReceivedMail {
  'Message-ID': string;
  subject: string;
  /** The whole message as received (headers and MIME parts). */
  mimeMessage: string;
}

export interface GreenMailAddress {
  smtpPort: number;
  apiPort: number;
}

export class GreenMail {
  readonly smtpPort: number;
  readonly apiPort: number;
  readonly #dir: string;

  private constructor(smtpPort: number, apiPort: number, dir: string) {
    this.smtpPort = smtpPort;
    this.apiPort = apiPort;
    this.#dir = dir;
  }

  static async start(): Promise<GreenMail> {
    const server = new GreenMail(
      await freePort(),
      await freePort(),
      await mkdtemp(join(tmpdir(), 'cv-greenmail-')),
    );
    try {
      await server.start();
    } catch (err) {
      await server.destroy();
      throw err;
    }
    return server;
  }

  /** The smtp:// URL a sender uses (GreenMail takes any login). */
  get smtpUrl(): string {
    return smtpUrlOf(this);
  }

  async start(): Promise<void> {
    await greenmailEnv(this.#dir, String(this.smtpPort), String(this.apiPort));
  }

  async stop(): Promise<void> {
    await greenmailEnv(this.#dir, 'stop');
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => {});
    await rm(this.#dir, { recursive: true, force: true });
  }
}

export function smtpUrlOf(a: GreenMailAddress): string {
  return `smtp://chronoverse:not-a-real-password@127.0.0.1:${a.smtpPort}`;
}

/** The mail `address` received, oldest first ([] when none: GreenMail knows no such user yet). */
export async function inbox(a: GreenMailAddress, address: string): Promise<ReceivedMail[]> {
  const res = await fetch(
    `http://127.0.0.1:${a.apiPort}/api/user/${encodeURIComponent(address)}/messages/INBOX`,
  );
  if (res.status === 404 || res.status === 400) return [];
  if (!res.ok) throw new Error(`GreenMail API: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as ReceivedMail[];
}

/** The decoded text of a received message's text/plain part (quoted-printable undone). */
export function plainText(mail: ReceivedMail): string {
  const m = /Content-Type: text\/plain[^\r\n]*\r\n(?:[^\r\n]+\r\n)*\r\n([\s\S]*?)\r\n--/i.exec(
    mail.mimeMessage,
  );
  if (!m) return '';
  const body = m[1]!;
  if (!/Content-Type: text\/plain[^]*?Content-Transfer-Encoding: quoted-printable/i.test(mail.mimeMessage)) {
    return body.replace(/\r\n/g, '\n');
  }
  return Buffer.from(
    body
      .replace(/=\r\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  )
    .toString('utf8')
    .replace(/\r\n/g, '\n');
}
