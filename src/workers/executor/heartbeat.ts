/**
 * HEARTBEAT runner: one HTTP request through the outbound guard (src/platform/outbound), success
 * when the status is the expected one.
 *
 * Connection problems and timeouts are SYSTEM failures (retried: the network may blink); a wrong
 * status is a USER failure (the monitored service answered, and not as expected); a target the
 * outbound policy refuses (at this hop or at a redirect) is a USER failure recorded only as
 * "refused by outbound policy" — no address, no latency, nothing dialled — and never retried.
 * Redirects are followed up to MAX_REDIRECTS hops, each one checked like the first request.
 */
import { heartbeatOutputs, OUTPUTS_MAX_BYTES, outputsProblemMessage } from '../../domain/task-outputs.ts';
import { SpanKind } from '@opentelemetry/api';
import { parseDuration } from '../../domain/duration.ts';
import { REFUSED_BY_OUTBOUND_POLICY, type OutboundRole } from '../../domain/outbound-policy.ts';
import { validatePayloadOf, type HeartbeatPayload } from '../../domain/workflow-input.ts';
import type { Logger } from '../../platform/logger.ts';
import type { OutboundGuard } from '../../platform/outbound/guard.ts';
import { inSpan } from '../../platform/telemetry/tracing.ts';
import type { RunOutcome } from './outcome.ts';
import type { TaskRunner } from './task-runner.ts';

/** Redirect hops a heartbeat follows (fetch follows 20; a monitored endpoint needs few). */
export const MAX_REDIRECTS = 5;

/** The HEARTBEAT task runner (./task-runner.ts). */
export function heartbeatRunner(deps: {
  guard: OutboundGuard;
  logger: Logger;
}): TaskRunner<HeartbeatPayload> {
  return {
    parse: (spec) => validatePayloadOf('HEARTBEAT', spec),
    run: (payload, { job, role, signal }) =>
      inSpan('job.heartbeat', SpanKind.CLIENT, () =>
        runHeartbeat(payload, {
          guard: deps.guard,
          // A DAG task's answer is its outputs (`status`, and a JSON `body`) for the next tasks.
          keepOutputs: job.run_id !== null,
          role,
          signal,
          // The detail is the operator's: the job records only "refused by outbound policy".
          onRefused: (detail) =>
            deps.logger.info(
              { jobId: job.id, workflowId: job.workflow_id, detail },
              'heartbeat refused by the outbound policy',
            ),
        }),
      ),
  };
}

export async function runHeartbeat(
  payload: HeartbeatPayload,
  context: {
    guard: OutboundGuard;
    role: OutboundRole;
    signal: AbortSignal;
    keepOutputs?: boolean;
    onRefused?: (detail: string) => void;
  },
): Promise<RunOutcome> {
  const timeoutMs = parseDuration(payload.timeout) ?? 10_000;
  const headers: Record<string, string | string[]> = { ...payload.headers };
  if (!Object.keys(headers).some((h) => h.toLowerCase() === 'user-agent')) {
    headers['user-agent'] = 'Chronoverse-Heartbeat';
  }
  const started = performance.now();
  const result = await context.guard.request({
    url: payload.endpoint,
    method: payload.method,
    headers,
    body: payload.body,
    role: context.role,
    timeoutMs,
    signal: context.signal,
    redirects: MAX_REDIRECTS,
    // Outputs keep a body of up to 64 KiB; twice that is read to tell "too large" apart.
    readAnswerBytes: context.keepOutputs ? OUTPUTS_MAX_BYTES * 2 : 0,
    keepAnswer: context.keepOutputs === true,
  });
  const latencyMs = Math.round(performance.now() - started);
  switch (result.kind) {
    case 'aborted':
      return { kind: 'canceled' };
    case 'refused':
      context.onRefused?.(result.detail);
      return {
        kind: 'failed',
        errorKind: 'USER',
        code: 'OUTBOUND_REFUSED',
        message: REFUSED_BY_OUTBOUND_POLICY,
        retryable: false,
      };
    case 'failed':
      if (result.reason === 'timeout') {
        return {
          kind: 'failed',
          errorKind: 'SYSTEM',
          code: 'TIMEOUT',
          message: `no answer within ${payload.timeout}`,
          retryable: true,
          latencyMs,
        };
      }
      return {
        kind: 'failed',
        errorKind: 'SYSTEM',
        code: 'CONNECTION_FAILED',
        message: `request to ${new URL(payload.endpoint).host} failed: ${result.error}`,
        retryable: true,
        latencyMs,
      };
    case 'answered':
      if (result.statusCode === payload.expected_status_code) {
        if (!context.keepOutputs) return { kind: 'succeeded', httpStatusCode: result.statusCode, latencyMs };
        const outputs = heartbeatOutputs({
          status: result.statusCode,
          contentType: result.answer?.contentType ?? null,
          body: result.answer?.body ?? null,
        });
        if (!outputs.ok) {
          return {
            kind: 'failed',
            errorKind: 'USER',
            code: 'OUTPUTS_TOO_LARGE',
            message: outputsProblemMessage(outputs.problem),
            retryable: false,
            httpStatusCode: result.statusCode,
            latencyMs,
          };
        }
        return { kind: 'succeeded', httpStatusCode: result.statusCode, latencyMs, outputs: outputs.outputs };
      }
      return {
        kind: 'failed',
        errorKind: 'USER',
        code: 'UNEXPECTED_STATUS',
        message: `expected HTTP ${payload.expected_status_code}, got ${result.statusCode}`,
        retryable: false,
        httpStatusCode: result.statusCode,
        latencyMs,
      };
  }
}
