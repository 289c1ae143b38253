/**
 * HEARTBEAT runner: one HTTP request, success when the status is the expected one.
 * Connection problems and timeouts are SYSTEM failures (retried: the network may blink); a wrong
 * status is a USER failure (the monitored service answered, and not as expected).
 */
import { parseDuration } from '../../domain/duration.ts';
import type { HeartbeatPayload } from '../../domain/workflow-input.ts';
import type { RunOutcome } from './outcome.ts';

export async function runHeartbeat(payload: HeartbeatPayload, signal: AbortSignal): Promise<RunOutcome> {
  const timeoutMs = parseDuration(payload.timeout) ?? 10_000;
  const headers = new Headers();
  for (const [name, value] of Object.entries(payload.headers)) {
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const started = performance.now();
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(payload.endpoint, {
      method: payload.method,
      headers,
      body: payload.body,
      redirect: 'follow',
      signal: AbortSignal.any([signal, timeout]),
    });
    const latencyMs = Math.round(performance.now() - started);
    await response.body?.cancel().catch(() => {});
    if (response.status === payload.expected_status_code) {
      return { kind: 'succeeded', httpStatusCode: response.status, latencyMs };
    }
    return {
      kind: 'failed',
      errorKind: 'USER',
      code: 'UNEXPECTED_STATUS',
      message: `expected HTTP ${payload.expected_status_code}, got ${response.status}`,
      retryable: false,
      httpStatusCode: response.status,
      latencyMs,
    };
  } catch (err) {
    if (signal.aborted) return { kind: 'canceled' };
    const latencyMs = Math.round(performance.now() - started);
    if (timeout.aborted) {
      return {
        kind: 'failed',
        errorKind: 'SYSTEM',
        code: 'TIMEOUT',
        message: `no answer within ${payload.timeout}`,
        retryable: true,
        latencyMs,
      };
    }
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return {
      kind: 'failed',
      errorKind: 'SYSTEM',
      code: 'CONNECTION_FAILED',
      message: `request to ${new URL(payload.endpoint).host} failed: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
      retryable: true,
      latencyMs,
    };
  }
}
