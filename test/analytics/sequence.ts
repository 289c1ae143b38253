/**
 * A known sequence of JOB_FINISHED facts for one workflow, and what the aggregates must say about
 * it, computed here independently of the SQL (plain loops over the same list).
 *
 * 100 jobs that started: job i (1…100) is scheduled at BASE + i min, starts i ms late, runs
 * 10·i ms and printed i lines; every tenth FAILED, i ≡ 5 (mod 20) CANCELED while running, the rest
 * COMPLETED. Plus 3 jobs CANCELED before they started. Completions span the hours 10:00 and 11:00.
 */
import type { JobFinishedPayload } from '../../src/domain/events.ts';
import type { BusMessage } from '../../src/platform/bus/bus.ts';
import { newId } from '../../src/platform/ids.ts';

export const BASE = Date.parse('2021-01-01T10:00:00Z');
const MIN = 60_000;

export function knownSequence(userId: string, workflowId: string): JobFinishedPayload[] {
  const out: JobFinishedPayload[] = [];
  for (let i = 1; i <= 100; i++) {
    const scheduled = BASE + i * MIN - (i + 10 * i);
    const started = scheduled + i;
    const completed = started + 10 * i;
    out.push({
      job_id: newId(),
      workflow_id: workflowId,
      user_id: userId,
      generation: 1,
      status: i % 10 === 0 ? 'FAILED' : i % 20 === 5 ? 'CANCELED' : 'COMPLETED',
      trigger: i % 2 === 0 ? 'MANUAL' : 'AUTOMATIC',
      attempts: 1,
      // PostgreSQL's jsonb rendering, as the outbox carries it.
      scheduled_at: pgTime(scheduled),
      started_at: pgTime(started),
      completed_at: pgTime(completed),
      exit_code: null,
      http_status_code: 200,
      error_code: null,
      error_message: null,
      log_lines: i,
      bulk: false,
    });
  }
  for (let k = 0; k < 3; k++) {
    out.push({
      job_id: newId(),
      workflow_id: workflowId,
      user_id: userId,
      generation: 1,
      status: 'CANCELED',
      trigger: 'AUTOMATIC',
      attempts: 0,
      scheduled_at: pgTime(BASE + 30 * MIN),
      started_at: null,
      completed_at: pgTime(BASE + 30 * MIN + k),
      exit_code: null,
      http_status_code: null,
      error_code: null,
      error_message: null,
      log_lines: 0,
      bulk: true,
    });
  }
  return out;
}

function pgTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+00:00');
}

let seq = 0;
export function asMessages(facts: readonly JobFinishedPayload[]): BusMessage[] {
  return facts.map((f) => ({
    id: String(++seq),
    topic: 'analytics',
    key: f.workflow_id,
    type: 'JOB_FINISHED',
    payload: f as unknown as Record<string, unknown>,
  }));
}

/** Nearest rank: the smallest value with at least p of the values at or below it. */
export function nearestRank(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

export interface Expected {
  completed: number;
  failed: number;
  canceled: number;
  logLines: number;
  durationMsTotal: number;
  durations: number[];
  lags: number[];
  /** Per UTC hour start (ms): counts and sums. */
  hours: Map<number, { completed: number; failed: number; canceled: number; dur: number[]; lag: number[] }>;
}

export function expectedOf(facts: readonly JobFinishedPayload[]): Expected {
  const e: Expected = {
    completed: 0,
    failed: 0,
    canceled: 0,
    logLines: 0,
    durationMsTotal: 0,
    durations: [],
    lags: [],
    hours: new Map(),
  };
  for (const f of facts) {
    const done = Date.parse(f.completed_at);
    const hour = Math.floor(done / 3_600_000) * 3_600_000;
    let h = e.hours.get(hour);
    if (!h) e.hours.set(hour, (h = { completed: 0, failed: 0, canceled: 0, dur: [], lag: [] }));
    const key = f.status === 'COMPLETED' ? 'completed' : f.status === 'FAILED' ? 'failed' : 'canceled';
    e[key] += 1;
    h[key] += 1;
    e.logLines += f.log_lines;
    if (f.started_at !== null) {
      const d = done - Date.parse(f.started_at);
      const l = Date.parse(f.started_at) - Date.parse(f.scheduled_at);
      e.durations.push(d);
      e.lags.push(l);
      e.durationMsTotal += d;
      h.dur.push(d);
      h.lag.push(l);
    }
  }
  return e;
}
