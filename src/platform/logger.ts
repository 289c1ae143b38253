import { pino, type Logger } from 'pino';

/**
 * Structured JSON logs. Credentials never reach a log line: request headers are not logged at all,
 * and these paths are censored wherever they appear in a logged object.
 */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  'current_password',
  '*.current_password',
  'new_password',
  '*.new_password',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'cookie',
  '*.cookie',
  'req.headers',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, base: { service: 'chronoverse' } },
    destination as never,
  );
}

export type { Logger };
