import { isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type Logger } from 'pino';

/**
 * Structured JSON logs. Credentials never reach a log line: request headers are not logged at all,
 * and these paths are censored wherever they appear in a logged object (top level or one level
 * down; pino's wildcards match one level). A line written while a span is active carries its
 * `trace_id` and `span_id`, so logs and traces join in the backend.
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
  'secret',
  '*.secret',
  'authorization',
  '*.authorization',
  'cookie',
  '*.cookie',
  '["set-cookie"]',
  '*["set-cookie"]',
  'req.headers',
  'res.headers',
];

/** `trace_id`/`span_id` of the active span, for every line (nothing when none is active). */
export function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const sc = span.spanContext();
  return isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { service: 'chronoverse' },
      mixin: traceFields,
    },
    destination as never,
  );
}

export type { Logger };
