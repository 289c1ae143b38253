/**
 * Bench fixtures shared by bench/engine.ts and bench/distributed.ts: built HEARTBEAT workflows
 * (interval 1 min) inserted in bulk, 5,000 per statement, straight into the table.
 */
import { newId } from '../src/platform/ids.ts';

/** Runs one parameterised statement ($1, $2, …): a pg client or a Kysely raw query. */
export type RunQuery = (text: string, params: unknown[]) => Promise<unknown>;

export async function insertHeartbeatWorkflows(
  run: RunQuery,
  params: { userId: string; endpoint: string; count: number; nextRunAt: (i: number) => Date | null },
): Promise<string[]> {
  const payload = JSON.stringify({
    endpoint: params.endpoint,
    method: 'GET',
    headers: {},
    body: null,
    expected_status_code: 200,
    timeout: '10s',
  });
  const ids: string[] = [];
  for (let offset = 0; offset < params.count; offset += 5000) {
    const chunk = Array.from({ length: Math.min(5000, params.count - offset) }, (_, k) => {
      const id = newId();
      ids.push(id);
      return { id, next: params.nextRunAt(offset + k)?.toISOString() ?? null };
    });
    await run(
      `INSERT INTO workflows (id, user_id, name, kind, payload, schedule_type, interval_minutes, build_status, state, log_retention, next_run_at, max_consecutive_job_failures_allowed)
       SELECT w.id, $1, 'bench', 'HEARTBEAT', $2::jsonb, 'interval', 1, 'COMPLETED', 'ACTIVE', false, w.next, 100
       FROM unnest($3::uuid[], $4::timestamptz[]) AS w(id, next)`,
      [params.userId, payload, chunk.map((c) => c.id), chunk.map((c) => c.next)],
    );
  }
  return ids;
}
