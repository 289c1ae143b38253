/**
 * The one seam to an SMTP server: `Mailer.send` hands one message over and says what the server
 * answered, as an outcome (never a throw). nodemailer does the protocol; this module turns the
 * configuration (CHRONOVERSE_SMTP_*) into its options and its errors into outcomes:
 *
 * - `sent`: the server took the message (2xx after DATA), with its answer ("250 OK …");
 * - `rejected`: a 5xx answer about this message (recipient or content refused): retrying the
 *   same message cannot help;
 * - `failed`: anything else — connection refused or cut, timeout, TLS, 4xx, a login refused
 *   (the operator may fix the credentials): worth retrying later.
 *
 * Credentials come from the URL (smtp://user:pass@host:port) and never appear in an outcome or
 * a log line: nodemailer's messages name the server's answer, not what we sent.
 */
import { readFileSync } from 'node:fs';
import nodemailer, { type Transporter } from 'nodemailer';

export const STARTTLS_MODES = ['required', 'auto', 'off'] as const;
export type StartTlsMode = (typeof STARTTLS_MODES)[number];

export interface SmtpConfig {
  /** smtp://[user:pass@]host[:port] (STARTTLS as `starttls` says) or smtps:// (TLS from the start). */
  url: string;
  /** The From header, e.g. `Chronoverse <chronoverse@example.com>`. */
  from: string;
  starttls: StartTlsMode;
  /** Check the server's certificate (chain and name). */
  tlsVerify: boolean;
  /** PEM file of extra certificate authorities ('' = the system's). */
  tlsCaFile: string;
  /** Deadline of connect, greeting and each command. */
  timeoutMs: number;
}

export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Message-ID header without brackets: the same on every attempt, so a receiver can drop a repeat. */
  messageId: string;
}

export type SendOutcome =
  | { kind: 'sent'; code: number | null; response: string }
  | { kind: 'rejected'; code: number; response: string }
  | { kind: 'failed'; code: number | null; response: string };

export interface Mailer {
  send(email: OutgoingEmail): Promise<SendOutcome>;
  close(): void;
}

/** nodemailer options from the configuration; throws on a URL that is not smtp:// or smtps://. */
export function smtpTransportOptions(config: SmtpConfig) {
  const url = new URL(config.url);
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new Error(`CHRONOVERSE_SMTP_URL must be smtp:// or smtps://, got ${url.protocol}//`);
  }
  const secure = url.protocol === 'smtps:';
  const user = decodeURIComponent(url.username);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port !== '' ? Number(url.port) : secure ? 465 : 587,
    secure,
    ...(user !== '' ? { auth: { user, pass: decodeURIComponent(url.password) } } : {}),
    requireTLS: !secure && config.starttls === 'required',
    ignoreTLS: !secure && config.starttls === 'off',
    tls: {
      rejectUnauthorized: config.tlsVerify,
      ...(config.tlsCaFile !== '' ? { ca: readFileSync(config.tlsCaFile, 'utf8') } : {}),
    },
    connectionTimeout: config.timeoutMs,
    greetingTimeout: config.timeoutMs,
    socketTimeout: config.timeoutMs,
  };
}

export class SmtpMailer implements Mailer {
  readonly #transport: Transporter;
  readonly #from: string;

  constructor(config: SmtpConfig) {
    this.#transport = nodemailer.createTransport(smtpTransportOptions(config));
    this.#from = config.from;
  }

  async send(email: OutgoingEmail): Promise<SendOutcome> {
    try {
      const info = await this.#transport.sendMail({
        from: this.#from,
        to: email.to,
        subject: email.subject,
        text: email.text,
        html: email.html,
        messageId: `<${email.messageId}>`,
        headers: { 'Auto-Submitted': 'auto-generated' },
      });
      const response = String(info.response ?? '');
      const code = /^\d{3}/.test(response) ? Number(response.slice(0, 3)) : null;
      return { kind: 'sent', code, response };
    } catch (err) {
      return outcomeOf(err);
    }
  }

  close(): void {
    this.#transport.close();
  }
}

/** A nodemailer error as an outcome: 5xx about the message is final, the rest is retried. */
export function outcomeOf(err: unknown): SendOutcome {
  const e = err as { responseCode?: unknown; response?: unknown; code?: unknown; message?: unknown };
  const code = typeof e.responseCode === 'number' ? e.responseCode : null;
  const answer = typeof e.response === 'string' && e.response !== '' ? e.response : null;
  const response = (answer ?? (typeof e.message === 'string' ? e.message : String(err))).slice(0, 1000);
  if (code !== null && code >= 500 && code < 600 && e.code !== 'EAUTH') {
    return { kind: 'rejected', code, response };
  }
  return { kind: 'failed', code, response };
}
