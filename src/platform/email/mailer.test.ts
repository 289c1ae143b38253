import { describe, expect, it } from 'vitest';
import { outcomeOf, smtpTransportOptions, type SmtpConfig } from './mailer.ts';

const config: SmtpConfig = {
  url: 'smtp://alerts%40example.com:p%40ss@smtp.example.com:587',
  from: 'x',
  starttls: 'required',
  tlsVerify: true,
  tlsCaFile: '',
  timeoutMs: 1000,
};

describe('smtpTransportOptions', () => {
  it('reads the login from the URL (percent-decoded) and requires STARTTLS by default', () => {
    expect(smtpTransportOptions(config)).toMatchObject({
      host: 'smtp.example.com',
      port: 587,
      secure: false,
      auth: { user: 'alerts@example.com', pass: 'p@ss' },
      requireTLS: true,
      ignoreTLS: false,
      tls: { rejectUnauthorized: true },
    });
  });

  it('uses TLS from the start for smtps:// (port 465 by default), never STARTTLS flags', () => {
    const o = smtpTransportOptions({ ...config, url: 'smtps://smtp.example.com', starttls: 'off' });
    expect(o).toMatchObject({ port: 465, secure: true, requireTLS: false, ignoreTLS: false });
    expect(o).not.toHaveProperty('auth');
  });

  it('turns STARTTLS off only when asked', () => {
    expect(smtpTransportOptions({ ...config, starttls: 'off' })).toMatchObject({
      requireTLS: false,
      ignoreTLS: true,
    });
    expect(smtpTransportOptions({ ...config, starttls: 'auto' })).toMatchObject({
      requireTLS: false,
      ignoreTLS: false,
    });
  });
});

describe('outcomeOf', () => {
  it('a 5xx about the message is final; a 4xx, a refused login or no answer is retried', () => {
    expect(outcomeOf({ responseCode: 550, response: '550 no such user', code: 'EENVELOPE' })).toEqual({
      kind: 'rejected',
      code: 550,
      response: '550 no such user',
    });
    expect(outcomeOf({ responseCode: 451, response: '451 try later' }).kind).toBe('failed');
    expect(outcomeOf({ responseCode: 535, response: '535 bad login', code: 'EAUTH' }).kind).toBe('failed');
    expect(
      outcomeOf(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ESOCKET' })),
    ).toEqual({
      kind: 'failed',
      code: null,
      response: 'connect ECONNREFUSED 127.0.0.1:1',
    });
  });
});
