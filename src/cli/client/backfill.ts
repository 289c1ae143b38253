/**
 * `backfill <workflow> --from <time> --to <time> [--max-parallel <n>] [--overlap ALLOW_ALL|BUFFER_ALL]
 * [--dry-run]`: POST /workflows/{id}/backfill (docs/api.md "Backfill"). A dry run prints the fire
 * times (with the reason of an irregular one) and starts nothing; otherwise the backfill's id.
 */
import { findWorkflow, unwrap, type ChronoverseClient } from './api.ts';
import type { Output } from './output.ts';

export async function backfill(
  out: Output,
  api: ChronoverseClient,
  options: {
    workflow: string;
    from: string;
    to: string;
    maxParallel?: number;
    overlap?: 'ALLOW_ALL' | 'BUFFER_ALL';
    dryRun: boolean;
    json: boolean;
  },
): Promise<number> {
  const w = await findWorkflow(api, options.workflow);
  const answer = unwrap(
    await api.POST('/api/v1/workflows/{id}/backfill', {
      params: { path: { id: w.id } },
      body: {
        from: options.from,
        to: options.to,
        ...(options.maxParallel !== undefined ? { max_parallel: options.maxParallel } : {}),
        ...(options.overlap !== undefined ? { overlap: options.overlap } : {}),
        ...(options.dryRun ? { dry_run: true } : {}),
      },
    }),
  );
  if (options.json) {
    out.json(answer);
    return 0;
  }
  if ('fire_times' in answer && Array.isArray(answer.fire_times)) {
    for (const f of answer.fire_times) out.line(f.reason ? `${f.at}  ${f.reason}` : f.at);
    const n = answer.fire_times.length;
    out.line(`${n} fire time${n === 1 ? '' : 's'} of workflow/${w.name} (dry run: nothing started)`);
    return 0;
  }
  const b = answer as { id: string; fire_times: number; max_parallel: number };
  out.line(
    `backfill/${b.id} started for workflow/${w.name}: ${b.fire_times} fire times, at most ${b.max_parallel} at once`,
  );
  return 0;
}
